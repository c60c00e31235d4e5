from django.test import RequestFactory, override_settings

from inigo_sso.client_ip import client_ip


def request_with(remote: str, forwarded: str | None = None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **extra)


def test_without_proxies_the_peer_is_the_client():
    assert client_ip(request_with("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


@override_settings(NUM_PROXIES=1)
def test_behind_one_proxy_the_last_forwarded_hop_is_the_client_and_spoofed_hops_are_ignored():
    assert client_ip(request_with("10.0.0.2", "6.6.6.6, 198.51.100.7")) == "198.51.100.7"


@override_settings(NUM_PROXIES=2)
def test_behind_two_proxies_the_second_hop_from_the_right_is_the_client():
    assert client_ip(request_with("10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.1")) == "198.51.100.7"


@override_settings(NUM_PROXIES=1)
def test_a_missing_or_garbled_header_falls_back_to_the_peer():
    assert client_ip(request_with("10.0.0.2")) == "10.0.0.2"
    assert client_ip(request_with("10.0.0.2", "not-an-ip")) == "10.0.0.2"
