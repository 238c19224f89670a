"""Rebuilds data/bikeshare.csv from the Bikeshare.csv that the ISLP package ships.

Usage: ``python data/make_bikeshare.py PATH/TO/ISLP/data/Bikeshare.csv data/bikeshare.csv``
(``pip download --no-deps ISLP==0.6.0`` and unzip the wheel to get the source file).
"""

import sys

import pandas as pd

# ISLP writes the UCI weather codes 1-4 as words; the shipped file keeps UCI's codes.
WEATHER_CODES = {"clear": 1, "cloudy/misty": 2, "light rain/snow": 3, "heavy rain/snow": 4}
KEPT = ["holiday", "workingday", "weathersit", "temp", "atemp", "hum", "windspeed"]
COUNTS = ["casual", "registered", "bikers"]


def main(source, target):
    """Writes `target`: a local-time stamp, then the non-calendar columns of `source`."""
    raw = pd.read_csv(source)
    # ISLP keeps only 2011 (UCI's yr=0) and gives the day as the day of the year.
    stamps = (
        pd.Timestamp("2011-01-01")
        + pd.to_timedelta(raw["day"] - 1, unit="D")
        + pd.to_timedelta(raw["hr"], unit="h")
    )
    # UCI counts weekdays from Sunday = 0; a mismatch would mean a wrong year or day.
    if not ((stamps.dt.day_of_week + 1) % 7 == raw["weekday"]).all():
        raise SystemExit("the weekday column does not match 2011; is this the ISLP file?")
    frame = raw[KEPT + COUNTS].assign(weathersit=raw["weathersit"].map(WEATHER_CODES))
    frame.insert(0, "date", stamps.dt.strftime("%Y-%m-%d %H:%M:%S"))
    frame.to_csv(target, index=False, lineterminator="\n")


if __name__ == "__main__":
    main(*sys.argv[1:3])
