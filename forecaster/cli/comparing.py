"""The `compare` and `tune` commands: cell comparisons and their fair tuning."""

import dataclasses

import yaml

from forecaster.cli import models
from forecaster.cli.sections import ConfigError


def compare(config):
    """Runs `forecaster.tracking.compare_cells` and prints the table and the p-values.

    Returns:
        The comparison table.
    """
    from forecaster import tracking
    from forecaster.evaluation import comparison

    settings = config.compare
    for name in (*settings.cells, *settings.baselines):  # the sections fit together
        models.build(name, config)
    frame = config.source.load()
    runs = len(settings.cells) * settings.seeds + len(settings.baselines)
    print(
        f"Comparing {', '.join(settings.cells)} over {settings.seeds} seed(s) and "
        f"{len(settings.baselines)} baselines on {config.source.name} ({len(frame)} rows, last "
        f"{settings.test_fraction:.0%} for testing): {runs} runs.",
        flush=True,
    )
    table = tracking.compare_cells(
        frame,
        **dataclasses.asdict(settings),
        **config.model_configs(),
        dataset=config.source.name,
        progress=True,
        fixed=getattr(config, "given", ()),
    )
    metric = settings.metric
    scored = ("test " if comparison.is_probabilistic(metric) else "scaled test ") + metric
    seeds = f"{settings.seeds} seed{'s' if settings.seeds > 1 else ''}"
    print(f"\nRanking by {scored} (mean ± std over {seeds}; lower is better):")
    for rank, (model, mean, std, count, kind) in enumerate(
        comparison.ranking(table, settings.cells, metric), start=1
    ):
        spread = f"{mean:.4g} ± {std:.2g}" if count > 1 else f"{mean:.4g}"
        print(f"  {rank}. {model:<16} {spread:<18} {kind}")
    print(f"Verdict: {table.attrs['verdict']}")
    columns = [f"{metric}_mean", f"{metric}_std", "mae_mean", "mase_mean"]
    columns += [f"{comparison.column(metric)}_mean", "params", "seconds_per_epoch"]
    columns += [c for c in table.columns if c.startswith("coverage_") and c.endswith("_mean")]
    print(f"\nTest scores, mean and std over {seeds} (the full table is in the MLflow run):")
    print(table[[c for c in columns if c in table.columns]].to_markdown(floatfmt=".4g"))
    adjusted = table.attrs["holm"]
    if adjusted.notna().any().any():
        print(f"\nWelch's t-test p-values of the {scored} between cells, Holm-corrected:")
        print(adjusted.to_markdown(floatfmt=".3g"))
    else:
        print(f"\nNo Welch's t-test p-values: they need 2 seeds or more (seeds: {settings.seeds}).")
    for label, error in table.attrs["failed"].items():
        print(f"\nFAILED {label} (its run is marked FAILED): {error}")
    print(
        f"\nMLflow run {table.attrs['run_id']} in experiment {table.attrs['experiment']!r} at "
        f"{tracking.tracking_uri()}."
    )
    print_ui_hint(table.attrs["experiment_id"], table.attrs["run_id"])
    return table


def tune(config):
    """Runs `forecaster.tracking.tuning.tune`; prints each cell's choice as YAML sections.

    Returns:
        {cell: {section.field: value}}.
    """
    from forecaster.tracking import tracking_uri
    from forecaster.tracking.tuning import tune as tune_cells

    settings = config.compare
    if settings.tune < 1:
        raise ConfigError("forecaster tune needs a budget of trials per cell: pass --tune N")
    for name in settings.cells:  # the sections fit together
        models.build(name, config)
    frame = config.source.load()
    print(
        f"Tuning {', '.join(settings.cells)} with {settings.tune} trials each on "
        f"{config.source.name} ({len(frame)} rows, the last {settings.test_fraction:.0%} left "
        "out).",
        flush=True,
    )
    chosen, run_id = tune_cells(
        frame,
        settings.cells,
        settings.tune,
        space=settings.space,
        fixed=getattr(config, "given", ()),
        test_fraction=settings.test_fraction,
        experiment=settings.experiment,
        dataset=config.source.name,
        parallel=settings.parallel,
        address=settings.address,
        **{k: v for k, v in config.model_configs().items() if k != "linear"},
    )
    for cell, values in chosen.items():
        sections = {}
        for key, value in values.items():
            section, _, name = key.partition(".")
            sections.setdefault(section, {})[name] = value
        print(f"\n# {cell}: its best trial's values, to set in its config")
        print(yaml.safe_dump(sections, sort_keys=True).rstrip())
    print(f"\nMLflow run {run_id} in experiment {settings.experiment!r} at {tracking_uri()}.")
    print_ui_hint()
    return chosen


def print_ui_hint(experiment_id=None, run_id=None):
    """Says how to open the MLflow UI, at the run when there is one.

    The link asks for MLflow's model-training view (`workflowType=machine_learning`):
    MLflow 3.17's UI picks its GenAI or training view by that, not by the experiment.
    """
    if run_id is None:
        print("Open the MLflow UI with `forecaster ui` and browse to http://127.0.0.1:5000.")
        return
    link = (
        f"http://127.0.0.1:5000/#/experiments/{experiment_id}/runs/{run_id}"
        "?workflowType=machine_learning"
    )
    print(f"Open the MLflow UI with `forecaster ui` and browse to {link}")
