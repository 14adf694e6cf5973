"""Callbacks: ModifyCallbackUrl."""

import json

import pytest
from tencentcloud.trro.v20220325 import models

from tcutil import UUID_RE, assert_error, call, expect_error, made_up_project_id


def test_modify_callback_url_as_in_the_vendor_example_answers_code_0_ok(cli_a, project):
    req = models.ModifyCallbackUrlRequest()
    req.from_json_string(json.dumps({"ProjectId": project, "CallbackUrl": "http://123.45.81.121:9999",
                                     "SignKey": "abcd1234"}))
    resp = cli_a.ModifyCallbackUrl(req)
    assert isinstance(resp, models.ModifyCallbackUrlResponse)
    assert resp.Code == 0 and type(resp.Code) is int
    assert resp.Msg == "ok"
    assert UUID_RE.match(resp.RequestId)


def test_callback_url_can_be_changed_and_sign_key_is_optional(cli_a, project):
    for url in ("https://ops.example.com/trro/events", "http://10.0.0.5:8080/cb?x=1"):
        resp = call(cli_a, "ModifyCallbackUrl", {"ProjectId": project, "CallbackUrl": url})
        assert (resp.Code, resp.Msg) == (0, "ok")


def test_modify_callback_url_of_a_missing_project_is_resource_not_found(cli_a):
    e = expect_error(call, cli_a, "ModifyCallbackUrl", {"ProjectId": made_up_project_id(),
                                                        "CallbackUrl": "http://127.0.0.1:9999"})
    assert_error(e, "ResourceNotFound")


def test_modify_callback_url_without_a_url_is_missing_parameter(raw_a, project):
    e = expect_error(raw_a.call_json, "ModifyCallbackUrl", {"ProjectId": project, "SignKey": "k"})
    assert_error(e, "MissingParameter", "CallbackUrl")


@pytest.mark.parametrize("url", ["not a url", "ftp://example.com/x"])
def test_a_callback_url_that_is_not_http_is_refused(raw_a, project, url):
    e = expect_error(raw_a.call_json, "ModifyCallbackUrl", {"ProjectId": project, "CallbackUrl": url})
    # The vendor's model lists InvalidParameterValue.InvalidHttpUrl for TRRO.
    assert e.get_code() in ("InvalidParameterValue", "InvalidParameterValue.InvalidHttpUrl"), \
        (e.get_code(), e.get_message())
    assert "CallbackUrl" in e.get_message()


def test_modify_callback_url_with_an_unknown_parameter_is_rejected(raw_a, project):
    e = expect_error(raw_a.call_json, "ModifyCallbackUrl",
                     {"ProjectId": project, "CallbackUrl": "http://127.0.0.1:1", "Foo": 1})
    assert_error(e, "UnknownParameter", "Foo")
