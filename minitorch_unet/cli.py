"""The command line: ``python -m minitorch_unet <command>`` (or ``minitorch-unet <command>``).

Each command is one entry of :data:`COMMANDS`: a help line, a function that adds its
arguments to a parser, and a function that runs it and returns the exit status. To add
a command, write those two functions and add one line to the table.

Bad input (a data file, a checkpoint, a device, an option) prints one line
``error: ...`` on stderr and exits with status 2; no traceback.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import __version__, threads
from .backend import DeviceError
from .checkpoint import CheckpointError
from .data import DataError
from .evaluate import SPLITS, evaluate, format_table, predict
from . import pretrained
from .pretrained import PRETRAINED, cross_validation_note, export_model, pretrained_meta
from .train import (TrainConfig, TrainingError, build_model, saved_config, train,
                    write_curves)

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Command:
    """A subcommand: ``configure`` adds its arguments, ``run`` executes it -> exit status."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# ---- train -----------------------------------------------------------------------------------
_MODEL_OPTIONS = ("image_size", "channels", "base_filters", "depth", "padding", "batch_norm",
                  "dropout")
_METAVARS = {"image_size": "S", "batch_size": "B", "folds": "K", "fold": "k", "device": "DEVICE",
             int: "N", float: "X"}


def _add_config_options(parser: argparse.ArgumentParser, names: Sequence[str]) -> None:
    """One option per TrainConfig field; unset options stay absent from the namespace."""
    defaults, types = TrainConfig(), typing.get_type_hints(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        if f.name not in names:
            continue
        flag, default = "--" + f.name.replace("_", "-"), getattr(defaults, f.name)
        kwargs: dict = {"dest": f.name, "default": argparse.SUPPRESS,
                        "help": f"{f.metadata['help']} (default: {default})"}
        if f.name == "data":
            kwargs.update(action="append", metavar="PATH", help=f.metadata["help"])
        elif types[f.name] is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif f.metadata["choices"]:
            kwargs["choices"] = f.metadata["choices"]
        else:
            kwargs["type"] = types[f.name]
            kwargs["metavar"] = _METAVARS.get(f.name) or _METAVARS[types[f.name]]
        parser.add_argument(flag, **kwargs)


def _config_options(args: argparse.Namespace) -> dict:
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    return {k: v for k, v in vars(args).items() if k in names}


SAMPLE_PROVENANCE = (
    "The embedded sample holds 4 patients of the LGG FLAIR segmentation set: images from the "
    "TCGA-LGG collection of The Cancer Imaging Archive (Clark et al., J Digit Imaging 2013), "
    "tumour masks by Buda, Saha and Mazurowski (Computers in Biology and Medicine 109, 2019, "
    "doi:10.1016/j.compbiomed.2019.05.002); for non-commercial research and education.")


def _configure_train(parser: argparse.ArgumentParser) -> None:
    parser.epilog = SAMPLE_PROVENANCE
    parser.add_argument("--out", metavar="RUNDIR",
                        help="folder for last.npz, best.npz, history.json and curves.png; must "
                             "be new or empty unless --resume (default: a new runs/<date-time>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in RUNDIR from its last.npz (options not given "
                             "are taken from the run)")
    _add_config_options(parser, [f.name for f in dataclasses.fields(TrainConfig)])


def _print_now(line: str) -> None:
    print(line, flush=True)


def _run_train(args: argparse.Namespace) -> int:
    if args.out is None:
        if args.resume:
            raise ValueError("--resume needs --out RUNDIR: the run folder to continue")
        args.out = str(Path("runs") / time.strftime("%Y%m%d-%H%M%S"))
        print(f"run folder: {args.out}", flush=True)
    options = _config_options(args)
    base = saved_config(args.out) if args.resume else TrainConfig()
    config = dataclasses.replace(base, **options)
    history = train(config, args.out, resume=args.resume, log=_print_now)
    best = history["best"]
    if best["val_dice"] is None:
        print(f"no validation patients: best.npz is the last epoch ({best['epoch']}); "
              f"checkpoints in {args.out}")
    else:
        print(f"best validation Dice {best['val_dice']:.4f} at epoch {best['epoch']}; "
              f"checkpoints in {args.out}")
    if history["split"]["test"]:
        result = evaluate(Path(args.out) / "best.npz", config.data, "test")
        for patient, row in result["per_patient"].items():
            print(f"test patient {patient}: Dice {row['dice']:.4f}")
        print(f"test Dice (mean per patient): {result['dice_per_patient_mean']:.4f}")
        write_curves(Path(args.out) / "curves.png", history["epochs"],
                     test_dice=result["dice_per_patient_mean"])
        _compare_with_shipped(config, result)
    return 0


def _compare_with_shipped(config: TrainConfig, result: dict) -> None:
    """Print the shipped model's Dice on the run's test patients beside the run's own."""
    if not pretrained.WEIGHTS.is_file():
        return
    shipped = pretrained_meta()
    if shipped["config"]["channels"] != config.channels:
        return
    theirs = evaluate(PRETRAINED, config.data, patients=list(result["per_patient"]))
    trained_on = set(shipped["split"]["train"]) | set(shipped["split"]["val"])
    seen = [p for p in result["per_patient"] if p in trained_on]
    print(f"the shipped model (`{PRETRAINED}`, trained on {len(trained_on)} patients"
          + (f", including {', '.join(seen)}" if seen else "")
          + f"), same patients: {theirs['dice_per_patient_mean']:.4f}")


# ---- evaluate / predict ----------------------------------------------------------------------
def _add_checkpoint_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", metavar="CHECKPOINT",
                        help=f"a best.npz or last.npz, or '{PRETRAINED}' for the shipped model")
    parser.add_argument("--data", action="append", metavar="PATH",
                        help="dataset (repeat to combine); default: the data the run used")
    parser.add_argument("--device", default="cpu", metavar="DEVICE",
                        help="where to run the model: cpu, cuda or cuda:0 (default: cpu)")


def _configure_evaluate(parser: argparse.ArgumentParser) -> None:
    _add_checkpoint_arguments(parser)
    parser.add_argument("--split", choices=SPLITS, default="test",
                        help="the run's test or validation patients, or every slice of the "
                             "data (default: test)")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")


def _run_evaluate(args: argparse.Namespace) -> int:
    result = evaluate(args.checkpoint, args.data, args.split, args.device)
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    return 0


def _configure_predict(parser: argparse.ArgumentParser) -> None:
    _add_checkpoint_arguments(parser)
    parser.description = (
        "Segment scans: kaggle_3m slices (a folder or zip, with masks or without) or a NIfTI "
        "FLAIR volume (.nii/.nii.gz). Writes the masks in the input's form (a _mask.tif per "
        "slice, or a NIfTI mask with the input's affine), overlays/ (PNG) and patients.csv "
        "(tumour volume per patient; Dice where masks exist).")
    parser.add_argument("--split", choices=SPLITS, default=None,
                        help="with --data: every slice (default); without: the run's test "
                             "(default) or validation patients")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="folder for the masks, overlays/ and patients.csv")


def _run_predict(args: argparse.Namespace) -> int:
    result = predict(args.checkpoint, args.data, args.out, args.split, args.device)
    for row in result["patients"]:
        volume = "" if row["tumour_ml"] is None else f" ({row['tumour_ml']:.1f} ml)"
        dice = "" if row["dice"] is None else f", Dice {row['dice']:.4f}"
        print(f"{row['patient']}: {row['slices']} slices, tumour {row['tumour_voxels']} "
              f"voxels{volume}{dice}")
    slices = sum(row["slices"] for row in result["patients"])
    print(f"segmented {slices} slices of {len(result['patients'])} patients into {args.out} "
          "(masks, overlays/: grey FLAIR, green true outline, red prediction; patients.csv)")
    if result["skipped"]:
        print(f"skipped {len(result['skipped'])} slices that could not be read:")
        for reason in result["skipped"][:10]:
            print(f"  {reason}")
    return 0


def _configure_export(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="a training best.npz or last.npz")
    parser.add_argument("--out", required=True, metavar="FILE",
                        help="the model file to write (weights, config, post-processing)")
    parser.add_argument("--threshold", type=float, default=0.5, metavar="X",
                        help="probability above which a pixel is tumour (default: 0.5)")
    parser.add_argument("--min-voxels", type=int, default=0, metavar="N",
                        help="drop predicted 3-D components smaller than N voxels at the "
                             "model's resolution (default: 0, keep all)")
    parser.add_argument("--flip", action="store_true",
                        help="average each prediction with that of the left-right mirrored "
                             "slice (test-time augmentation: twice the inference time)")
    parser.add_argument("--cross-validation", metavar="JSON",
                        help="a benchmarks/cv_recipe.py result: its chosen candidate's "
                             "per-patient test Dice travels with the model")


def _run_export(args: argparse.Namespace) -> int:
    note = {}
    if args.cross_validation:
        note["cross_validation"] = cross_validation_note(args.cross_validation)
    path = export_model(args.checkpoint, args.out, args.threshold, args.min_voxels, note,
                        args.flip)
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MB)")
    return 0


# ---- summary ---------------------------------------------------------------------------------
def _configure_summary(parser: argparse.ArgumentParser) -> None:
    _add_config_options(parser, _MODEL_OPTIONS)


def _run_summary(args: argparse.Namespace) -> int:
    config = dataclasses.replace(TrainConfig(), **_config_options(args))
    print(build_model(config).summary(config.image_size))
    return 0


# ---- course and grading (instructors) -----------------------------------------------------------
def _configure_lessons(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a lesson is out of date with its solution")


def _run_lessons(args: argparse.Namespace) -> int:
    from .course.cli import main as course_main
    return course_main(["lessons"] + (["--check"] if args.check else []))


def _configure_progress(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("lessons_dir", nargs="?", default="lessons", metavar="LESSONS_DIR",
                        help="the folder holding your lesson folders (default: lessons)")
    parser.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS",
                        help="stop a notebook that runs longer than this (default: 600)")


def _run_progress(args: argparse.Namespace) -> int:
    from .course.learner_progress import run  # needs the course extra (nbformat, nbclient)
    return run(args)


def _configure_grade(parser: argparse.ArgumentParser) -> None:
    from .grading import add_arguments
    add_arguments(parser)


def _run_grade(args: argparse.Namespace) -> int:
    from .grading import run
    return run(args)


COMMANDS: dict[str, Command] = {
    "train": Command("train a U-Net (default: on the embedded 4-patient LGG sample)",
                     _configure_train, _run_train),
    "evaluate": Command("per-patient Dice, IoU, precision, recall of a checkpoint",
                        _configure_evaluate, _run_evaluate),
    "predict": Command("segment scans (with or without masks): masks, overlays, volumes",
                       _configure_predict, _run_predict),
    "export": Command("write a checkpoint's model alone, with its post-processing",
                      _configure_export, _run_export),
    "summary": Command("the U-Net's layers, output shapes and parameter counts",
                       _configure_summary, _run_summary),
    "lessons": Command("regenerate lessons/ from solutions/ (or --check that they are current)",
                       _configure_lessons, _run_lessons),
    "progress": Command("run the checks on your lesson notebooks: what passes, what fails and why",
                        _configure_progress, _run_progress),
    "grade": Command("grade a class's notebooks: grades.csv, feedback/, report.md (instructors)",
                     _configure_grade, _run_grade),
}


# Commands that compute with NumPy: they take --threads.
_COMPUTING = ("train", "evaluate", "predict", "summary")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minitorch-unet",
        description="Train and evaluate a U-Net that outlines lower-grade gliomas on FLAIR MRI.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        sub = commands.add_parser(name, help=command.help, description=command.help)
        command.configure(sub)
        if name in _COMPUTING:
            sub.add_argument("--threads", type=int, metavar="N",
                             help="threads for NumPy's BLAS (default: the cores not busy with "
                                  f"other processes, or ${threads.ENV_VAR})")
        sub.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv` (default: sys.argv[1:]), run the command, return its exit status."""
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "threads", None) is not None:
            threads.limit_blas_threads(args.threads)
        return args.run(args)
    except (DataError, CheckpointError, DeviceError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except TrainingError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("error: interrupted; a training run continues from its last.npz with --resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
