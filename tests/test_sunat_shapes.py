"""SUNAT's real answers, as public captures and the app's source show them, served by
the emulator over real HTTP and read through zeep's request and our lenient answer parser."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sunat_emulator import SHAPES, Emulator

from provisioner.sunat.classify import Verdict, classify_response
from provisioner.sunat.client import RetryPolicy, Timeouts, check_credentials

USER, PASSWORD = "20000000001MODDATOS", "moddatos"
FAST = Timeouts(connect=2, read=2)
RunCli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def sunat() -> Iterator[Emulator]:
    emulator = Emulator(accounts={USER: PASSWORD}).start()
    yield emulator
    emulator.stop()


def check(sunat: Emulator, password: str = PASSWORD, retries: int = 0
          ) -> tuple[Verdict, str, int]:
    result = check_credentials(sunat.url, USER, password, timeouts=FAST,
                               retry=RetryPolicy(retries=retries, backoff=0.0),
                               sleep=lambda _: None)
    return result.outcome.verdict, result.outcome.sentence, result.attempts


@pytest.mark.parametrize(("scenario", "verdict", "words"), [
    ("status-text:0127", Verdict.ACCEPTED, "El ticket no existe"),
    ("status-text:0102", Verdict.BAD_CREDENTIALS, "0102"),
    ("status-message:0126", Verdict.ACCEPTED, "no le pertenece"),
    ("status-message:0111", Verdict.NO_PROFILE, "0111"),
    ("status-code-in-text:0126", Verdict.ACCEPTED, "0126"),
    ("status-code-in-text:0104", Verdict.BAD_CREDENTIALS, "0104"),
    ("soap12-fault:0102", Verdict.BAD_CREDENTIALS, "0102"),
    ("internal-error", Verdict.UNAVAILABLE, "Internal Error"),
    ("http401", Verdict.UNAVAILABLE, "HTTP 401"),
    ("fault:0125", Verdict.ACCEPTED, "0125"),
    ("fault:0110", Verdict.UNAVAILABLE, "if it persists"),
])
def test_each_real_shape_is_classified_by_its_code(sunat: Emulator, scenario: str,
                                                   verdict: Verdict, words: str) -> None:
    sunat.scenario = scenario
    got, sentence, _ = check(sunat)
    assert got is verdict, sentence
    assert words in sentence
    assert "check the endpoint URL" not in sentence


def test_every_shape_is_served_and_none_is_malformed(sunat: Emulator) -> None:
    for shape in SHAPES:
        sunat.scenario = shape if ":" in shape or shape in ("internal-error", "echo-password",
                                                            "http401") else f"{shape}:0127"
        verdict, sentence, _ = check(sunat)
        assert verdict is not Verdict.MALFORMED, (shape, sentence)


@pytest.mark.parametrize("scenario", ["internal-error", "http401", "fault:0110"])
def test_transient_answers_are_retried(sunat: Emulator, scenario: str) -> None:
    sunat.queue.extend([scenario, scenario])
    sunat.scenario = "auth"
    verdict, _, attempts = check(sunat, retries=3)
    assert verdict is Verdict.ACCEPTED and attempts == 3


def test_no_traceback_or_log_noise_for_text_content(sunat: Emulator,
                                                    capfd: pytest.CaptureFixture[str]) -> None:
    sunat.scenario = "status-text:0126"
    verdict, _, _ = check(sunat)
    assert verdict is Verdict.ACCEPTED
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "binascii" not in out + err


@pytest.mark.parametrize("password", ["pw with  spaces\tand tab", "x" * 150 + "end-of-secret",
                                      'Clave&<Ñ>"1'])
def test_a_fault_echoing_the_password_is_redacted_before_it_is_cut(
        sunat: Emulator, password: str) -> None:
    sunat.accounts[USER] = password
    sunat.scenario = "echo-password"
    _, sentence, _ = check(sunat, password=password)
    for piece in (password, " ".join(password.split()), password[:20], password[-12:]):
        assert piece not in sentence


def test_check_sol_never_prints_an_echoed_password(run_cli: RunCli, repo: Path,
                                                   sunat: Emulator,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    password = "secreto  con\nsaltos " + "y" * 190
    monkeypatch.setenv("PROVISIONER_SOL_PASSWORD", password)
    sunat.scenario = "echo-password"
    code, out, err = run_cli("--repo", repo, "check-sol", "hotelsol", "--endpoint", sunat.url,
                             "--timeout", "2", "--backoff", "0", "--retries", "0")
    assert code == 5
    text = out + err
    assert "[REDAC" in text  # the cut falls inside the redaction, not inside the password
    for piece in ("secreto", "y" * 20):
        assert piece not in text
    assert all(line.isprintable() for line in text.splitlines())


def test_endpoint_with_credentials_is_refused_without_echo(run_cli: RunCli, repo: Path) -> None:
    code, _, err = run_cli("--repo", repo, "check-sol", "hotelsol", "--endpoint",
                           "https://user:topsecret@e-beta.sunat.gob.pe/billService")
    assert code == 2 and "user or password" in err and "topsecret" not in err


@settings(max_examples=200, deadline=None)
@given(status=st.sampled_from([200, 401, 404, 500, 503]), body=st.binary(max_size=300))
def test_any_bytes_are_classified_never_raised(status: int, body: bytes) -> None:
    outcome = classify_response(status, body)
    assert isinstance(outcome.verdict, Verdict)
    assert outcome.sentence.isprintable()


@settings(max_examples=200, deadline=None)
@given(code=st.text(max_size=12), content=st.text(max_size=60),
       message=st.one_of(st.none(), st.text(max_size=60)))
def test_any_status_element_text_is_classified(code: str, content: str,
                                               message: str | None) -> None:
    from xml.sax.saxutils import escape

    def clean(t: str) -> str:
        return escape("".join(c for c in t if c.isprintable()))

    extra = f"<statusMessage>{clean(message)}</statusMessage>" if message is not None else ""
    body = ('<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>'
            '<ns2:getStatusResponse xmlns:ns2="http://service.sunat.gob.pe"><status>'
            f"<content>{clean(content)}</content><statusCode>{clean(code)}</statusCode>{extra}"
            "</status></ns2:getStatusResponse></S:Body></S:Envelope>").encode()
    outcome = classify_response(200, body)
    assert outcome.sentence.isprintable()
    if code.strip() in ("0127", "0126", "0125"):
        assert outcome.verdict is Verdict.ACCEPTED
