import functools
import hashlib
import http.server
import re
import threading
from pathlib import Path

import pytest

import forecaster
from forecaster.data import DataError, datasets, read_csv
from tests.assertions import raises_exactly
from tests.data.util import DATA as SHARED
from tests.data.util import weather_notes

ROOT = Path(__file__).resolve().parents[2]  # the repository
ETTH1 = datasets.BENCHMARKS["ETTh1"]


@pytest.fixture(autouse=True)
def _no_data_dir(monkeypatch):
    """No test sees the FORECASTER_DATA_DIR of the machine it runs on."""
    monkeypatch.delenv(datasets.DATA_DIR_VARIABLE, raising=False)


@pytest.fixture
def serve():
    """Serves a folder over HTTP on 127.0.0.1 at a free port; returns the base URL."""
    servers = []

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    def start(folder):
        handler = functools.partial(Quiet, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join()


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _corrupt_copy(folder, name="ETTh1.csv"):
    """A copy of the shared ETTh1.csv with one value changed."""
    text = (SHARED / "ETTh1.csv").read_text()
    copy = folder / name
    copy.write_text(text.replace("5.827", "5.828", 1))
    return copy


def test_the_shared_copies_match_the_known_checksums():
    sums = dict(reversed(line.split()) for line in (SHARED / "SHA256SUMS").read_text().splitlines())
    for record in datasets.BENCHMARKS.values():
        assert record.sha256 == sums[record.file]
        assert _sha256(SHARED / record.file) == record.sha256


def test_an_explicit_file(tmp_path):
    frame = datasets.load_benchmark("etth1", path=SHARED / "ETTh1.csv", cache_dir=tmp_path)
    assert frame.shape == (17420, 7)
    assert frame.attrs["freq"] == "h"
    assert list(frame.columns) == ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]
    assert list(tmp_path.iterdir()) == []  # nothing copied into the cache


def test_an_explicit_folder_and_any_case(tmp_path):
    found = datasets.benchmark_path("eTtM2", path=SHARED, cache_dir=tmp_path, download=False)
    assert found == SHARED / "ETTm2.csv"


def test_the_weather_defaults_fill_its_duplicate_and_gap():
    with weather_notes():
        frame = datasets.load_benchmark("Weather", path=SHARED)
    # 52,696 rows in the file, less one duplicated stamp, plus 9 missing 10-minute steps.
    assert frame.shape == (52704, 21)
    assert frame.attrs["freq"] == "10min"
    assert frame.columns[-1] == "OT"
    # The checksummed copy is UTF-8 holding U+FFFD for the original "²": read as such, not
    # as Latin-1, which would turn it into "ï¿½".
    assert "SWDR (W/m\ufffd)" in frame.columns
    with raises_exactly(
        DataError,
        "weather.csv has duplicate timestamp 2020-05-12 06:00:00 (rows 19044 and 19045); "
        "pass missing='interpolate', 'ffill' or 'zero' to fill (duplicates are then averaged)",
    ):
        datasets.load_benchmark("weather", path=SHARED, missing="error")


def test_a_crlf_copy_has_the_same_checksum(tmp_path):
    crlf = tmp_path / "ETTh1.csv"
    crlf.write_bytes((SHARED / "ETTh1.csv").read_bytes().replace(b"\n", b"\r\n"))
    assert datasets.benchmark_path("ETTh1", path=crlf) == crlf


def test_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.DATA_DIR_VARIABLE, str(SHARED))
    assert datasets.benchmark_path("ETTh2", cache_dir=tmp_path, download=False) == (
        SHARED / "ETTh2.csv"
    )


def test_the_environment_variable_comes_before_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.DATA_DIR_VARIABLE, str(SHARED))
    _corrupt_copy(tmp_path)  # would fail its check if the cache were read first
    assert datasets.benchmark_path("ETTh1", cache_dir=tmp_path) == SHARED / "ETTh1.csv"


def test_the_cache(tmp_path):
    cached = tmp_path / "ETTh1.csv"
    cached.write_bytes((SHARED / "ETTh1.csv").read_bytes())
    frame = datasets.load_benchmark("ETTh1", cache_dir=tmp_path, download=False)
    assert frame.shape == (17420, 7)


def test_a_corrupt_local_copy_is_refused(tmp_path):
    copy = _corrupt_copy(tmp_path)
    actual = _sha256(copy)
    with raises_exactly(
        DataError,
        f"{copy} has SHA-256 {actual}, expected {ETTH1.sha256} (the original ETTh1.csv); "
        "replace it with an unmodified copy, or delete it to download one",
    ):
        datasets.load_benchmark("ETTh1", path=tmp_path)


def test_a_corrupt_cached_copy_is_refused(tmp_path):
    copy = _corrupt_copy(tmp_path)
    with pytest.raises(DataError, match=re.escape(f"{copy} has SHA-256 {_sha256(copy)}")):
        datasets.benchmark_path("ETTh1", cache_dir=tmp_path)


def test_a_path_that_does_not_hold_the_file(tmp_path):
    with raises_exactly(
        FileNotFoundError,
        f"{tmp_path} holds no ETTm1.csv; pass the file itself or a folder holding ETTm1.csv",
    ):
        datasets.benchmark_path("ETTm1", path=tmp_path)
    absent = tmp_path / "nowhere.csv"
    with raises_exactly(
        FileNotFoundError,
        f"path={str(absent)!r} is neither a file nor a folder; pass a copy of ETTm1.csv or a "
        "folder holding it",
    ):
        datasets.benchmark_path("ETTm1", path=absent)


def test_no_copy_and_no_download(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv(datasets.DATA_DIR_VARIABLE, str(empty))
    cache = tmp_path / "cache"
    with raises_exactly(
        FileNotFoundError,
        f"no copy of ETTh1.csv in {empty}, {cache} and download=False; pass path= with a copy, "
        "set FORECASTER_DATA_DIR to a folder holding it, or allow download=True",
    ):
        datasets.load_benchmark("ETTh1", cache_dir=cache, download=False)
    assert not cache.exists()


def test_an_unknown_name():
    with raises_exactly(
        ValueError,
        "unknown benchmark 'ETTh3'; pass one of ['ETTh1', 'ETTh2', 'ETTm1', 'ETTm2', 'weather'] "
        "(any case)",
    ):
        datasets.load_benchmark("ETTh3")
    with raises_exactly(ValueError, "unknown shipped data set 'ETTh1'; pass one of ['bikeshare']"):
        datasets.shipped_path("ETTh1")


def test_a_download_is_checked_cached_and_then_read_from_the_cache(tmp_path, serve):
    base = serve(SHARED)
    cache = tmp_path / "cache"
    frame = datasets.load_benchmark("ETTh1", cache_dir=cache, url=f"{base}/ETTh1.csv")
    assert frame.shape == (17420, 7)
    assert [p.name for p in cache.iterdir()] == ["ETTh1.csv"]
    assert _sha256(cache / "ETTh1.csv") == ETTH1.sha256
    # A url that no server answers proves the second read never downloads.
    again = datasets.load_benchmark("ETTh1", cache_dir=cache, url="http://127.0.0.1:9/x.csv")
    assert again.equals(frame)


def test_a_crlf_download_is_cached_with_lf_line_ends(tmp_path, serve):
    served = tmp_path / "served"
    served.mkdir()
    lf = (SHARED / "ETTh2.csv").read_bytes()
    (served / "ETTh2.csv").write_bytes(lf.replace(b"\n", b"\r\n"))
    cache = tmp_path / "cache"
    found = datasets.benchmark_path("ETTh2", cache_dir=cache, url=f"{serve(served)}/ETTh2.csv")
    assert found.read_bytes() == lf


def test_a_corrupt_download_leaves_nothing_in_the_cache(tmp_path, serve):
    served = tmp_path / "served"
    served.mkdir()
    copy = _corrupt_copy(served)
    url = f"{serve(served)}/ETTh1.csv"
    cache = tmp_path / "cache"
    with raises_exactly(
        DataError,
        f"{url} has SHA-256 {_sha256(copy)}, expected {ETTH1.sha256} (the original ETTh1.csv); "
        "nothing was cached; check the url= or try again later",
    ):
        datasets.load_benchmark("ETTh1", cache_dir=cache, url=url)
    assert list(cache.iterdir()) == []


def test_a_failed_download_says_why_and_leaves_nothing(tmp_path, serve):
    url = f"{serve(tmp_path / 'empty')}/ETTh1.csv"
    cache = tmp_path / "cache"
    with raises_exactly(
        ConnectionError,
        f"cannot download ETTh1.csv from {url}: HTTP Error 404: File not found; pass path= with "
        "a local copy or set FORECASTER_DATA_DIR to a folder holding it",
    ):
        datasets.benchmark_path("ETTh1", cache_dir=cache, url=url)
    assert list(cache.iterdir()) == []


def test_the_shipped_data_set_is_as_its_readme_says():
    path = datasets.shipped_path("bikeshare")
    assert path == ROOT / "data" / "bikeshare.csv"
    readme = (ROOT / "data" / "README.md").read_text()
    stated = re.search(r"SHA-256 of bikeshare\.csv: `([0-9a-f]{64})`", readme).group(1)
    assert _sha256(path) == stated
    assert path.read_bytes().count(b"\r") == 0
    raw = read_csv(path, missing="interpolate")
    shipped = forecaster.load_shipped()
    assert raw.equals(shipped)
    assert shipped.shape == (8760, 10)  # 8,645 rows in the file, 115 absent hours filled
    assert shipped.attrs["freq"] == "h"
    assert str(shipped.index[0]) == "2011-01-01 00:00:00"
    assert str(shipped.index[-1]) == "2011-12-31 23:00:00"
    assert list(shipped.columns) == [
        "holiday",
        "workingday",
        "weathersit",
        "temp",
        "atemp",
        "hum",
        "windspeed",
        "casual",
        "registered",
        "bikers",
    ]
    assert (shipped["bikers"] - shipped["casual"] - shipped["registered"]).abs().max() < 1e-9
    with raises_exactly(
        DataError,
        "bikeshare.csv has 115 missing timestamps, the first 2011-01-02 05:00:00 (after row "
        "29); pass missing='interpolate', 'ffill' or 'zero' to fill gaps",
    ):
        read_csv(path)


def test_the_public_names_are_exported():
    for name in ("load_benchmark", "benchmark_path", "load_shipped", "shipped_path"):
        assert getattr(forecaster, name) is getattr(datasets, name)
        assert name in forecaster.__all__
