"""Results files: a point's seeds reach the file together, never one by one."""

import pandas as pd

from forecaster.cli import results

COLUMNS = ("data", "model", "seed", "config_hash", "mse")
POINT = ("data", "model", "config_hash")


def row(model, seed, mse, digest="abc"):
    return {"data": "ETTh1", "model": model, "seed": seed, "config_hash": digest, "mse": mse}


def test_a_cells_rows_wait_until_its_point_has_three_seeds(tmp_path):
    path = tmp_path / "ltsf.csv"
    pending = results.pending_path(path)
    assert pending == tmp_path / "ltsf.pending.csv"
    assert results.record(path, COLUMNS, row("gru", 2, 0.3625), POINT) == []
    assert results.record(path, COLUMNS, row("gru", 0, 0.36), POINT) == []
    assert results.record(path, COLUMNS, row("lstm", 0, 0.5), POINT) == []  # another point
    assert results.record(path, COLUMNS, row("gru", 1, 0.1 + 0.2), POINT, seeds=3) != []
    table = pd.read_csv(path)
    assert table["seed"].tolist() == [0, 1, 2]  # together, in seed order
    assert table["mse"].tolist() == [0.36, 0.1 + 0.2, 0.3625]  # copied exactly, as written
    left = pd.read_csv(pending)
    assert left[["model", "seed"]].values.tolist() == [["lstm", 0]]  # the other point waits


def test_a_model_without_a_seed_is_one_run_written_at_once(tmp_path):
    path = tmp_path / "ltsf.csv"
    written = results.record(path, COLUMNS, row("naive", 0, 1.294), POINT, seeds=1)
    assert written == [row("naive", 0, 1.294)]
    assert pd.read_csv(path)["model"].tolist() == ["naive"]
    assert not results.pending_path(path).exists()


def test_a_point_whose_seeds_all_wait_is_settled_without_a_run(tmp_path):
    path = tmp_path / "ltsf.csv"
    for seed in range(3):  # e.g. a stop between the last seed's row and the move
        results.append(results.pending_path(path), COLUMNS, row("cifg", seed, 0.4))
    point = {"data": "ETTh1", "model": "cifg", "config_hash": "abc"}
    assert results.settle(path, COLUMNS, {**point, "config_hash": "other"}) == []
    assert len(results.settle(path, COLUMNS, point)) == 3
    assert len(pd.read_csv(path)) == 3
    assert pd.read_csv(results.pending_path(path)).empty


def test_a_points_hash_leaves_out_its_seed_and_cell():
    one = {"network.cell": "gru", "train.seed": 0, "network.units": 512}
    assert results.point_hash(one) == results.point_hash({**one, "network.cell": "lstm"})
    assert results.point_hash(one) == results.point_hash({**one, "train.seed": 2})
    assert results.point_hash(one) != results.point_hash({**one, "network.units": 256})
