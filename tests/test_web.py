"""The live web view through the real daemon: a fake UART radar (a pty peer speaking TI's protocol)
streams two people standing at known places; the page, in a real headless chromium driven by
playwright, shows two people at those places within a few seconds. Plus the access rules: a
non-loopback bind without a token is a config error, a missing token gets 401, a wrong one 403."""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from runtime.app import App
from runtime.config import ConfigError, parse_config
from runtime.events.settings import Mounting
from runtime.fakes.uart_radar import FakeUartRadar
from runtime.frames import POINT_DTYPE
from runtime.tracking import from_floor

CAPTURE = Path(__file__).resolve().parents[1] / "runtime" / "examples" / "two_people_iwr1843.bin"
CHROMIUM = os.environ.get("MMFM_CHROMIUM", "/usr/bin/chromium")
MOUNTING = Mounting(height_m=1.5, tilt_deg=0.0)
PERIOD_S = 0.05
#: where the two people stand (floor frame, x right, y forward) [m]
PEOPLE = np.array([[-1.0, 2.0], [1.2, 3.4]])
SHOTS = (
    Path(os.environ.get("MMFM_WEB_SCREENSHOT_DIR", ""))
    if os.environ.get("MMFM_WEB_SCREENSHOT_DIR")
    else None
)


def two_people(frame: int, seed: int = 11) -> np.ndarray:
    """Two people shifting on the spot at :data:`PEOPLE`: ~20 points each over the body, with a
    small swaying radial velocity, in the radar frame."""
    rng = np.random.default_rng(seed * 100_003 + frame)
    t = frame * PERIOD_S
    out = []
    for k, centre in enumerate(PEOPLE):
        n = 20
        xyz = np.column_stack(
            [
                centre[0] + rng.normal(0, 0.1, n),
                centre[1] + rng.normal(0, 0.1, n),
                1.7 * rng.beta(2.0, 1.5, n),
            ]
        )
        pts = np.zeros(n, dtype=POINT_DTYPE)
        pts["x"], pts["y"], pts["z"] = from_floor(xyz, MOUNTING).T
        pts["v"] = 0.3 * np.sin(2.0 * t + k) + rng.normal(0, 0.1, n)
        pts["snr"] = 20.0
        pts["noise"] = 60.0
        out.append(pts)
    return np.concatenate(out)


def config_text(fake: FakeUartRadar, web: str) -> str:
    return (
        "event_log: {enabled: false, path: x.db}\n"
        "watchdog: {stall_timeout_s: 2, check_interval_s: 0.1}\n"
        f"{web}"
        "radars:\n"
        "  hall:\n"
        "    name: Hall\n"
        "    chirp_config: iwr1843boost_presence\n"
        "    source:\n"
        "      type: serial\n"
        f"      cli_port: {fake.cli_path}\n"
        f"      data_port: {fake.data_path}\n"
        "    mounting: {height_m: 1.5, tilt_deg: 0}\n"
        "    events:\n"
        "      count: {settle_s: 0.5}\n"
        "      zones:\n"
        "        - {name: sofa, box_m: [0.5, 2.0, 2.8, 4.0]}\n"
    )


@pytest.fixture
def fake_radar() -> Iterator[FakeUartRadar]:
    with FakeUartRadar(two_people, frame_period_s=PERIOD_S) as radar:
        yield radar


@contextlib.contextmanager
def daemon_with_web(config, start_timeout_s: float) -> Iterator[App]:
    """The daemon running ``config`` in a thread, yielded once its web view is up; stopped after."""
    app = App(config)
    runner = threading.Thread(target=app.run, kwargs={"install_signal_handlers": False})
    runner.start()
    try:
        deadline = time.monotonic() + start_timeout_s
        while not any(c.name == "web" for c in app.communicators):
            assert runner.is_alive() and time.monotonic() < deadline, "daemon did not start"
            time.sleep(0.05)
        yield app
    finally:
        app.request_stop()
        runner.join(15)
    assert not runner.is_alive()


@pytest.fixture
def running(fake_radar: FakeUartRadar, request: pytest.FixtureRequest) -> Iterator[App]:
    for name in ("starlette", "uvicorn"):
        pytest.importorskip(name, reason="the web view needs the optional extra mmfm[web]")
    web, env = getattr(request, "param", ("web: {port: 0, push_interval_s: 0.1}\n", {}))
    for k, v in env.items():
        os.environ[k] = v
    try:
        with daemon_with_web(
            parse_config(config_text(fake_radar, web), source="test.yaml", env=env), 10
        ) as app:
            yield app
    finally:
        for k in env:
            os.environ.pop(k, None)


def web_of(app: App):
    return next(c for c in app.communicators if c.name == "web")


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# ---------------------------------------------------------------------------- config rules
def test_non_loopback_without_token_is_a_config_error() -> None:
    text = (
        "web: {host: 0.0.0.0}\nradars:\n  r: {source: {type: replay, path: " + str(CAPTURE) + "}}\n"
    )
    with pytest.raises(ConfigError) as err:
        parse_config(text, source="mmfm.yaml", env={})
    msg = str(err.value)
    assert "mmfm.yaml:1: web: host 0.0.0.0 is not a loopback address" in msg and "token_env" in msg
    assert "mmfm.yaml:1" in msg and "\n" not in msg.strip()


def test_token_variable_must_be_set() -> None:
    text = (
        "web: {host: 0.0.0.0, token_env: MMFM_WEB_TOKEN}\n"
        f"radars:\n  r: {{source: {{type: replay, path: {CAPTURE}}}}}\n"
    )
    with pytest.raises(ConfigError, match="MMFM_WEB_TOKEN is not set"):
        parse_config(text, source="mmfm.yaml", env={})
    cfg = parse_config(text, source="mmfm.yaml", env={"MMFM_WEB_TOKEN": "s3cret"})
    assert cfg.web is not None and cfg.web.token_env == "MMFM_WEB_TOKEN"


@pytest.mark.parametrize(
    "running",
    [
        (
            "web: {host: 127.0.0.1, port: 0, token_env: MMFM_TEST_WEB_TOKEN}\n",
            {"MMFM_TEST_WEB_TOKEN": "correct-horse"},
        )
    ],
    indirect=True,
)
def test_token_is_enforced(running: App) -> None:
    port = web_of(running).port
    assert get(port, "/")[0] == 401
    assert get(port, "/events")[0] == 401
    assert get(port, "/?token=wrong")[0] == 403
    assert get(port, "/state.json", {"Authorization": "Bearer wrong"})[0] == 403
    status, body = get(port, "/?token=correct-horse")
    assert status == 200 and b"mmfm live view" in body
    status, body = get(port, "/state.json", {"Authorization": "Bearer correct-horse"})
    assert status == 200 and "hall" in json.loads(body)["radars"]


def test_state_json_without_browser(running: App) -> None:
    port = web_of(running).port
    # no token on loopback: a foreign Host header (DNS rebinding) is refused
    assert get(port, "/state.json", {"Host": f"evil.example:{port}"})[0] == 403
    assert get(port, "/", {"Host": f"localhost:{port}"})[0] == 200
    deadline = time.monotonic() + 15
    while True:
        status, body = get(port, "/state.json")
        assert status == 200
        hall = json.loads(body)["radars"]["hall"]
        if len(hall["tracks"]) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(hall["tracks"]) == 2
    assert hall["fov"]["range_m"] > 3 and hall["fov"]["azimuth_deg"][0] < 0
    assert hall["zones"][0]["name"] == "sofa" and len(hall["points"]) > 0


# ---------------------------------------------------------------------------- the browser
def _browser_or_skip():
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="playwright for Python is not installed (pip install playwright)",
    )
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium, or set MMFM_CHROMIUM)")
    return sync_api


def test_page_shows_the_people_where_they_stand(running: App, tmp_path: Path) -> None:
    sync_api = _browser_or_skip()
    web = web_of(running)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 720})
            t0 = time.monotonic()
            page.goto(web.url)
            page.wait_for_selector('#radar-hall[data-tracks="2"]', timeout=15_000)
            seen_after = time.monotonic() - t0
            items = page.locator("#radar-hall .tracks li")
            drawn = sorted(
                (
                    float(items.nth(i).get_attribute("data-x")),
                    float(items.nth(i).get_attribute("data-y")),
                )
                for i in range(items.count())
            )
            assert page.locator("#radar-hall .count").get_attribute("data-count") == "2"
            assert int(page.locator("#radar-hall").get_attribute("data-points")) > 0
            assert page.get_attribute("#status", "data-state") == "live"
            # every person is drawn within 0.3 m of where they stand
            truth = sorted(map(tuple, PEOPLE.tolist()))
            for (x, y), (tx, ty) in zip(drawn, truth, strict=True):
                assert abs(x - tx) < 0.3 and abs(y - ty) < 0.3, (drawn, truth)
            # the sofa zone holds the person at (1.2, 3.4); the event list shows occupancy
            page.wait_for_selector(
                '#radar-hall li[data-zone="sofa"][data-count="1"]', timeout=10_000
            )
            page.wait_for_selector('#events li[data-type="occupancy"]', timeout=10_000)
            shots = SHOTS or tmp_path
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / "web_view.png"))
        finally:
            browser.close()
    assert seen_after < 15


def test_range_doppler_map_of_a_raw_adc_replay(tmp_path: Path) -> None:
    """The bundled raw-ADC capture (strongest target at 1.50 m, +0.60 m/s) replayed through the
    daemon: the page's range-Doppler map peaks at that range and speed."""
    for name in ("starlette", "uvicorn"):
        pytest.importorskip(name, reason="the web view needs the optional extra mmfm[web]")
    sync_api = _browser_or_skip()
    truth = json.loads(CAPTURE.with_suffix(".truth.json").read_text())
    strongest = max(truth["targets"], key=lambda t: t["amplitude"])
    text = (
        "event_log: {enabled: false, path: x.db}\n"
        "web: {port: 0, push_interval_s: 0.1}\n"
        f"radars:\n  den:\n    source: {{type: replay, path: {CAPTURE}, loop: true}}\n"
    )
    app = App(parse_config(text, source="test.yaml", env={}))
    runner = threading.Thread(target=app.run, kwargs={"install_signal_handlers": False})
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while not any(c.name == "web" for c in app.communicators):
            assert runner.is_alive() and time.monotonic() < deadline, "daemon did not start"
            time.sleep(0.05)
        chirp = app.config.radars["den"].radar_config.chirp
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                page = browser.new_page(viewport={"width": 1000, "height": 900})
                page.goto(web_of(app).url)
                rd = page.wait_for_selector(
                    "#radar-den canvas.rd[data-peak-range-m]", timeout=15_000
                )
                assert rd.get_attribute("data-range-bins") == str(chirp.num_range_bins)
                peak_r = float(rd.get_attribute("data-peak-range-m"))
                peak_v = float(rd.get_attribute("data-peak-speed-mps"))
                shots = SHOTS or tmp_path
                shots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shots / "web_view_range_doppler.png"), full_page=True)
            finally:
                browser.close()
    finally:
        app.request_stop()
        runner.join(15)
    assert not runner.is_alive()
    assert abs(peak_r - strongest["range_m"]) <= 2 * chirp.range_bin_m, peak_r
    assert abs(peak_v - strongest["velocity_mps"]) <= 2 * chirp.velocity_bin_mps, peak_v


# ---------------------------------------------------------------------------- the question box
@pytest.fixture(scope="module")
def gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The base GGUF of the real LLM (Gemma 3 270M): from $MMFM_CACHE, else assembled in a temp dir."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("the question box needs llama-cpp-python (mmfm[llm])")
    from runtime.llm import base_model as bm

    if importlib.util.find_spec(bm.BASE_MODEL_MODULE) is None:
        pytest.skip(f"needs the base LLM package {bm.BASE_MODEL_PACKAGE}")
    if os.environ.get("MMFM_CACHE"):
        return bm.base_model_path()
    return bm.assemble_base_model(tmp_path_factory.mktemp("cache") / "llm" / bm.BASE_MODEL_FILE)


@pytest.fixture
def asking(fake_radar: FakeUartRadar, gguf: Path, tmp_path: Path) -> Iterator[App]:
    """The daemon with the web view and the question service (real LLM, short answers)."""
    for name in ("starlette", "uvicorn"):
        pytest.importorskip(name, reason="the web view needs the optional extra mmfm[web]")
    text = config_text(fake_radar, "web: {port: 0, push_interval_s: 0.1}\n").replace(
        "event_log: {enabled: false, path: x.db}\n",
        f"event_log: {{path: {tmp_path / 'events.db'}}}\n"
        f"questions: {{gguf: {gguf}, max_tokens: 8, per_client_per_minute: 3}}\n",
    )
    with daemon_with_web(parse_config(text, source="test.yaml", env={}), 30) as app:
        yield app


def post_ask(port: int, body: bytes, headers: dict[str, str]) -> tuple[int, list[dict]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/ask", body=body, headers=headers)
        resp = conn.getresponse()
        text = resp.read().decode()
    finally:
        conn.close()
    if resp.getheader("content-type", "").startswith("application/x-ndjson"):
        return resp.status, [json.loads(line) for line in text.splitlines() if line.strip()]
    return resp.status, [json.loads(text)] if text.startswith("{") else []


def test_ask_endpoint_streams_and_applies_the_rules(asking: App) -> None:
    port = web_of(asking).port
    json_type = {"Content-Type": "application/json"}
    status, lines = post_ask(port, b'{"question": "How many people are here?"}', json_type)
    assert status == 200 and lines[-1]["type"] == "answer", lines
    final = lines[-1]
    assert (
        final["status"] == "ok" and final["radar"] == "hall" and final["client"] == "web-127.0.0.1"
    )
    pieces = [m["text"] for m in lines if m["type"] == "token"]
    assert len(pieces) >= 2 and "".join(pieces).strip() == final["answer"]
    # another origin may not ask through a browser here; a form post is not JSON
    status, _ = post_ask(
        port, b'{"question": "x?"}', {**json_type, "Origin": "http://evil.example"}
    )
    assert status == 403
    assert post_ask(port, b"question=x", {"Content-Type": "text/plain"})[0] == 415
    # the same limits as every transport: too long, then too many from this address
    status, lines = post_ask(port, json.dumps({"question": "z" * 501}).encode(), json_type)
    assert lines[-1]["status"] == "refused" and "question too long" in lines[-1]["error"]
    for _ in range(2):
        post_ask(port, b'{"question": "Is anyone here?"}', json_type)
    status, lines = post_ask(port, b'{"question": "Is anyone here?"}', json_type)
    assert lines[-1]["status"] == "refused" and "at most 3 a minute" in lines[-1]["error"]
    assert asking.questions is not None and asking.questions.stats()["answered"] == 3


def test_question_box_gets_its_answer(asking: App, tmp_path: Path) -> None:
    sync_api = _browser_or_skip()
    web = web_of(asking)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.goto(web.url)
            page.wait_for_selector('#radar-hall[data-tracks="2"]', timeout=15_000)
            page.fill("#question", "How many people are in the room?")
            page.click("#ask-form button")
            page.wait_for_selector('#answer[data-state="ok"]', timeout=60_000)
            answer = page.text_content("#answer") or ""
            # the answer went through the question service: it is also an `answer` event
            page.wait_for_selector('#events li[data-type="answer"]', timeout=10_000)
            shots = SHOTS or tmp_path
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / "web_view_question.png"), full_page=True)
        finally:
            browser.close()
    assert answer.strip()
    assert asking.questions is not None
    assert asking.questions.stats()["answered"] == 1
