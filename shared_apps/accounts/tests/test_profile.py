"""The profile page on the public site: name, avatar, phone, time zone, language."""

import io
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def image_upload(width=64, height=64, fmt="PNG", noise=False, name="me.png"):
    if noise:  # incompressible, so the file is as big as its pixels
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.new("RGB", (width, height), (13, 110, 253))
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{fmt.lower()}")


def profile_data(**changes):
    data = {
        "full_name": "Анна Петрова",
        "phone": "+7 (999) 123-45-67",
        "time_zone": "Asia/Yekaterinburg",
        "language": "ru",
    }
    data.update(changes)
    return data


@pytest.fixture
def signed_in(public_client, user_factory):
    user = user_factory()
    public_client.force_login(user)
    return user


def test_anonymous_visitor_is_sent_to_sign_in(public_client):
    response = public_client.get("/profile/")

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_user_saves_name_phone_and_time_zone(public_client, signed_in):
    response = public_client.post("/profile/", profile_data())

    assert response.status_code == 302
    signed_in.refresh_from_db()
    assert signed_in.full_name == "Анна Петрова"
    assert signed_in.phone == "+79991234567"
    assert signed_in.time_zone == "Asia/Yekaterinburg"


def test_choosing_english_switches_the_interface(public_client, signed_in):
    response = public_client.post("/profile/", profile_data(language="en"))

    assert response.cookies["django_language"].value == "en"
    page = public_client.get("/profile/").content.decode()
    assert "Profile saved." in page
    assert "Time zone" in page
    signed_in.refresh_from_db()
    assert signed_in.language == "en"


def test_user_uploads_an_avatar(public_client, signed_in):
    response = public_client.post("/profile/", {**profile_data(), "avatar": image_upload()})

    assert response.status_code == 302
    signed_in.refresh_from_db()
    assert signed_in.avatar.name.startswith("avatars/")
    with Image.open(signed_in.avatar.path) as saved:
        assert saved.size == (64, 64)
    signed_in.avatar.delete(save=False)


def test_file_that_is_not_an_image_is_refused_and_nothing_is_saved(public_client, signed_in):
    fake = SimpleUploadedFile("me.png", b"#!/bin/sh\necho not an image\n", content_type="image/png")

    response = public_client.post("/profile/", {**profile_data(full_name="Changed"), "avatar": fake})

    assert response.status_code == 400
    assert response.context["form"].errors["avatar"]
    signed_in.refresh_from_db()
    assert not signed_in.avatar
    assert signed_in.full_name == ""


def test_avatar_over_two_megabytes_is_refused_with_its_size(public_client, signed_in):
    big = image_upload(900, 900, noise=True)
    assert big.size > 2 * 1024 * 1024

    response = public_client.post("/profile/", {**profile_data(), "avatar": big})

    assert response.status_code == 400
    error = response.context["form"].errors["avatar"][0]
    assert "2,0" in error or "2.0" in error
    signed_in.refresh_from_db()
    assert not signed_in.avatar


def test_avatar_wider_than_4000_pixels_is_refused(public_client, signed_in):
    response = public_client.post("/profile/", {**profile_data(), "avatar": image_upload(4001, 8)})

    assert response.status_code == 400
    assert "4001×8" in response.context["form"].errors["avatar"][0]
    signed_in.refresh_from_db()
    assert not signed_in.avatar


def test_user_removes_the_avatar(public_client, signed_in):
    public_client.post("/profile/", {**profile_data(), "avatar": image_upload()})
    signed_in.refresh_from_db()
    path = signed_in.avatar.path

    public_client.post("/profile/", {**profile_data(), "remove_avatar": "on"})

    signed_in.refresh_from_db()
    assert not signed_in.avatar
    assert not os.path.exists(path)


@pytest.mark.parametrize("phone", ["12", "call me", "+7 999 123 45 67 89 00 11", "++79991234567"])
def test_invalid_phone_is_refused(public_client, signed_in, phone):
    response = public_client.post("/profile/", profile_data(phone=phone))

    assert response.status_code == 400
    assert response.context["form"].errors["phone"]
    signed_in.refresh_from_db()
    assert signed_in.phone == ""


def test_unknown_time_zone_is_refused(public_client, signed_in):
    response = public_client.post("/profile/", profile_data(time_zone="Mars/Olympus_Mons"))

    assert response.status_code == 400 and response.context["form"].errors["time_zone"]
    signed_in.refresh_from_db()
    assert signed_in.time_zone == "Europe/Moscow"


def test_unknown_language_is_refused(public_client, signed_in):
    response = public_client.post("/profile/", profile_data(language="de"))

    assert response.status_code == 400 and response.context["form"].errors["language"]
