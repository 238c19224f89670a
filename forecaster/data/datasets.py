"""Data sets: the small one the project ships, and the standard long-horizon benchmarks.

The shipped data set lives in the project's ``data/`` folder (see ``data/README.md``), so the
main command runs on a fresh clone with no download:

>>> frame = load_shipped("bikeshare")  # hourly Capital Bikeshare rentals and weather, 2011

The benchmarks (ETTh1, ETTh2, ETTm1, ETTm2 and weather) are looked for, in this order:

1. ``path=``: the file itself, or a folder holding ``<name>.csv``;
2. the folder named by the environment variable ``FORECASTER_DATA_DIR``;
3. the cache folder, ``~/.cache/forecaster`` unless ``cache_dir=`` says otherwise;
4. a download from the data set's public source into the cache (unless ``download=False``).

Every copy, local or downloaded, is checked against the SHA-256 of the original file. The
checksum covers the file's bytes with each CRLF line end turned into LF, so a copy that only
differs in line ends (weather.csv is served with CRLF) passes, and the cache holds the LF form.
A download goes to a temporary file in the cache folder that is renamed only once its checksum
matches, so the cache never holds a half-written or corrupt file.
"""

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from forecaster.data.errors import DataError
from forecaster.data.reading import read_csv

DATA_DIR_VARIABLE = "FORECASTER_DATA_DIR"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Benchmark:
    """Where one benchmark file comes from and how it reads.

    Attributes:
        file: the file name, e.g. "ETTh1.csv".
        url: the public source it is downloaded from.
        sha256: the SHA-256 of the original file with CRLF line ends turned into LF.
        read_kwargs: the `read_csv` arguments it needs to load (callers may override them).
    """

    file: str
    url: str
    sha256: str
    read_kwargs: dict = field(default_factory=dict)


_ETT_URL = "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/{}"
# The Time-Series-Library authors' own copy of the Autoformer weather file (CRLF line ends).
_WEATHER_URL = (
    "https://huggingface.co/datasets/thuml/Time-Series-Library/resolve/main/weather/weather.csv"
)

BENCHMARKS = {
    "ETTh1": Benchmark(
        "ETTh1.csv",
        _ETT_URL.format("ETTh1.csv"),
        "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066",
    ),
    "ETTh2": Benchmark(
        "ETTh2.csv",
        _ETT_URL.format("ETTh2.csv"),
        "a3dc2c597b9218c7ce1cd55eb77b283fd459a1d09d753063f944967dd6b9218b",
    ),
    "ETTm1": Benchmark(
        "ETTm1.csv",
        _ETT_URL.format("ETTm1.csv"),
        "6ce1759b1a18e3328421d5d75fadcb316c449fcd7cec32820c8dafda71986c9e",
    ),
    "ETTm2": Benchmark(
        "ETTm2.csv",
        _ETT_URL.format("ETTm2.csv"),
        "db973ca252c6410a30d0469b13d696cf919648d0f3fd588c60f03fdbdbadd1fd",
    ),
    # UTF-8: the checksummed copy already holds U+FFFD where the original's Latin-1 "²" was
    # (in "SWDR (W/m²)" and two other headers), so Latin-1 decoding would garble those names.
    # One stamp is written twice and 100 minutes are missing, both about 41% into the file,
    # inside the LTSF training part: "interpolate" averages the pair and fills the 9 missing
    # rows (52,696 -> 52,704 rows).
    "weather": Benchmark(
        "weather.csv",
        _WEATHER_URL,
        "9b2b19b13e342d9c9b9c51620d42b4be232df7fba30e7f5c4968b7c79ab138ad",
        {"missing": "interpolate"},
    ),
}

# The data sets in the project's data/ folder, with the read_csv arguments they need.
SHIPPED = {
    # 115 hours are absent from the source (nights with no rentals, and three outages).
    "bikeshare": ("bikeshare.csv", {"missing": "interpolate"}),
}


def benchmark(name):
    """Returns the `Benchmark` record of `name` (any case), or raises a ValueError."""
    known = {key.lower(): key for key in BENCHMARKS}
    if not isinstance(name, str) or name.lower() not in known:
        raise ValueError(f"unknown benchmark {name!r}; pass one of {list(BENCHMARKS)} (any case)")
    return BENCHMARKS[known[name.lower()]]


def benchmark_path(name, *, path=None, cache_dir=None, download=True, url=None, timeout=60):
    """Returns the path of a checked local copy of a benchmark file, downloading it if need be.

    Args:
        name: "ETTh1", "ETTh2", "ETTm1", "ETTm2" or "weather", in any case.
        path: a copy to use: the file itself or a folder holding it (e.g. "ETTh1.csv").
            When given, nothing else is searched.
        cache_dir: the cache folder; None: ``~/.cache/forecaster``.
        download: whether to download the file into the cache when no local copy is found.
        url: where to download it from; None: the data set's public source.
        timeout: seconds to wait for the server before the download fails.

    Returns:
        A `pathlib.Path` to a file whose SHA-256 (after CRLF -> LF) is the original's.

    Raises:
        ValueError: `name` is not a known benchmark.
        FileNotFoundError: `path` does not hold the file, or no copy was found and
            `download` is False.
        DataError: a copy's checksum is not the original's.
        ConnectionError: the download failed.

    Example:
        >>> benchmark_path("etth1", path="../shared/data").name
        'ETTh1.csv'
    """
    record = benchmark(name)
    if path is not None:
        candidate = Path(path)
        if candidate.is_dir():
            candidate = candidate / record.file
            if not candidate.is_file():
                raise FileNotFoundError(
                    f"{Path(path)} holds no {record.file}; pass the file itself or a folder "
                    f"holding {record.file}"
                )
        elif not candidate.is_file():
            raise FileNotFoundError(
                f"path={str(path)!r} is neither a file nor a folder; pass a copy of "
                f"{record.file} or a folder holding it"
            )
        return _checked(candidate, record)
    folders = []
    data_dir = os.environ.get(DATA_DIR_VARIABLE)
    if data_dir:
        folders.append(Path(data_dir))
    cache = Path.home() / ".cache" / "forecaster" if cache_dir is None else Path(cache_dir)
    folders.append(cache)
    for folder in folders:
        if (folder / record.file).is_file():
            return _checked(folder / record.file, record)
    if not download:
        looked = ", ".join(str(folder) for folder in folders)
        raise FileNotFoundError(
            f"no copy of {record.file} in {looked} and download=False; pass path= with a copy, "
            f"set {DATA_DIR_VARIABLE} to a folder holding it, or allow download=True"
        )
    return _download(record, url or record.url, cache, timeout)


def load_benchmark(
    name, *, path=None, cache_dir=None, download=True, url=None, timeout=60, **read_kwargs
):
    """Reads a benchmark set into a regular DataFrame, finding or downloading a checked copy.

    Args:
        name: "ETTh1", "ETTh2", "ETTm1", "ETTm2" or "weather", in any case.
        path: a copy to use, the file or a folder holding it (see `benchmark_path`).
        cache_dir: the cache folder; None: ``~/.cache/forecaster``.
        download: whether to download into the cache when no local copy is found.
        url: where to download from; None: the data set's public source.
        timeout: seconds to wait for the server before the download fails.
        **read_kwargs: `read_csv` arguments; they override the set's own defaults, which are
            none for ETT and ``missing="interpolate"`` for weather.

    Returns:
        The `read_csv` frame: ETTh1/ETTh2 `(17420, 7)`, ETTm1/ETTm2 `(69680, 7)`, weather
        `(52704, 21)`, each with the "OT" column last.

    Raises:
        ValueError, FileNotFoundError, DataError, ConnectionError: as in `benchmark_path`;
            DataError and ValueError also as in `read_csv`.

    Example:
        >>> load_benchmark("ETTh1", download=False).shape  # from FORECASTER_DATA_DIR or cache
        (17420, 7)
    """
    record = benchmark(name)
    found = benchmark_path(
        name, path=path, cache_dir=cache_dir, download=download, url=url, timeout=timeout
    )
    return read_csv(found, **(record.read_kwargs | read_kwargs))


def shipped_path(name="bikeshare"):
    """Returns the path of a data set shipped in the project's ``data/`` folder.

    Args:
        name: the data set, one of `SHIPPED` ("bikeshare").

    Returns:
        A `pathlib.Path` under ``<project root>/data/``.

    Raises:
        ValueError: `name` is not a shipped data set.
        FileNotFoundError: the file is not there (the package was installed without the
            project's ``data/`` folder).

    Example:
        >>> shipped_path().name
        'bikeshare.csv'
    """
    if name not in SHIPPED:
        raise ValueError(f"unknown shipped data set {name!r}; pass one of {list(SHIPPED)}")
    found = Path(__file__).resolve().parents[2] / "data" / SHIPPED[name][0]  # the repository
    if not found.is_file():
        raise FileNotFoundError(
            f"shipped data set {name!r} is not at {found}; install forecaster from a clone of "
            "the repository (pip install -e .) so that its data/ folder is there"
        )
    return found


def load_shipped(name="bikeshare", **read_kwargs):
    """Reads a shipped data set with the `read_csv` arguments it needs.

    Args:
        name: the data set, one of `SHIPPED` ("bikeshare").
        **read_kwargs: `read_csv` arguments overriding the set's defaults (for "bikeshare",
            ``missing="interpolate"``: it fills the 115 hours absent from the source).

    Returns:
        The `read_csv` frame; for "bikeshare" `(8760, 10)`, hourly through 2011.

    Example:
        >>> load_shipped()["bikers"].resample("D").sum().shape
        (365,)
    """
    return read_csv(shipped_path(name), **(SHIPPED[name][1] | read_kwargs))


def _lf_sha256(source, sink=None):
    """SHA-256 of a binary stream with CRLF turned into LF; writes that LF form to `sink`."""
    digest = hashlib.sha256()
    held = b""  # a CR at a chunk's end may start a CRLF that the next chunk completes
    for chunk in iter(lambda: source.read(_CHUNK), b""):
        data = held + chunk
        held = b"\r" if data.endswith(b"\r") else b""
        data = data[: len(data) - len(held)].replace(b"\r\n", b"\n")
        digest.update(data)
        if sink is not None:
            sink.write(data)
    digest.update(held)
    if sink is not None:
        sink.write(held)
    return digest.hexdigest()


def _mismatch(where, record, actual, remedy):
    return DataError(
        f"{where} has SHA-256 {actual}, expected {record.sha256} (the original "
        f"{record.file}); {remedy}"
    )


def _checked(path, record):
    with path.open("rb") as source:
        actual = _lf_sha256(source)
    if actual != record.sha256:
        raise _mismatch(
            path, record, actual, "replace it with an unmodified copy, or delete it to download one"
        )
    return path


def _download(record, url, cache, timeout):
    cache.mkdir(parents=True, exist_ok=True)
    # In the cache folder itself, so that the rename is atomic.
    handle, temporary = tempfile.mkstemp(prefix=f".{record.file}.", suffix=".part", dir=cache)
    temporary = Path(temporary)
    try:
        with os.fdopen(handle, "wb") as sink:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    actual = _lf_sha256(response, sink)
            except OSError as error:  # URLError and HTTPError included
                if isinstance(error, urllib.error.HTTPError):
                    error.close()  # it holds the response's socket open
                # URLError wraps the socket's error; an HTTPError says its status itself.
                reason = error.reason if type(error) is urllib.error.URLError else error
                raise ConnectionError(
                    f"cannot download {record.file} from {url}: {reason}; pass path= with a "
                    f"local copy or set {DATA_DIR_VARIABLE} to a folder holding it"
                ) from None
        if actual != record.sha256:
            raise _mismatch(
                url, record, actual, "nothing was cached; check the url= or try again later"
            )
        target = cache / record.file
        temporary.replace(target)
        return target
    finally:
        temporary.unlink(missing_ok=True)
