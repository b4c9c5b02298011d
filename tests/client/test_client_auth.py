"""Tokens as heketi's JWT middleware checks them (heketi-spec §2)."""

import hashlib

import jwt
import pytest

from pyketi.client.auth import authorization_header, qsh, sign


@pytest.mark.filterwarnings("ignore:The HMAC key is")  # heketi secrets are often short
def test_token_verifies_with_the_secret_and_carries_heketi_claims():
    token = sign("admin", "My Secret", "GET", "/volumes/abc", now=1_700_000_000)
    claims = jwt.decode(token, "My Secret", algorithms=["HS256"],
                        options={"verify_exp": False})
    assert claims == {
        "iss": "admin",
        "iat": 1_700_000_000,
        "exp": 1_700_000_300,
        "qsh": hashlib.sha256(b"GET&/volumes/abc").hexdigest(),
    }
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_qsh_is_lower_case_hex_of_method_and_path():
    assert qsh("post", "/volumes") == hashlib.sha256(b"POST&/volumes").hexdigest()
    assert qsh("GET", "/queue/0a") == qsh("GET", "/queue/0a").lower()


def test_a_wrong_secret_does_not_verify():
    token = sign("admin", "right", "GET", "/clusters")
    try:
        jwt.decode(token, "wrong-secret-of-decent-length!!!", algorithms=["HS256"])
    except jwt.InvalidSignatureError:
        pass
    else:
        raise AssertionError("token verified with the wrong secret")


def test_empty_user_and_secret_still_sign_like_the_go_client():
    header = authorization_header("", "", "GET", "/clusters")
    assert header.startswith("Bearer ")
    assert jwt.decode(header.split()[1], options={"verify_signature": False})["iss"] == ""
