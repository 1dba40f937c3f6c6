"""``python -m minitorch_unet.course``: regenerate or check lessons, or build the course."""
from __future__ import annotations

import argparse
from pathlib import Path

from .notebooks import check_up_to_date, generate_all
from .run import LESSONS_DIR, SOLUTIONS_DIR, CellFailed, build


def main(argv: list[str] | None = None) -> int:
    """Run the course command in `argv` (default: the command line); returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m minitorch_unet.course",
                                     description="Course notebooks: solutions -> lessons.")
    parser.add_argument("--solutions", type=Path, default=SOLUTIONS_DIR,
                        help="folder of the solution notebooks (default: %(default)s)")
    parser.add_argument("--lessons", type=Path, default=LESSONS_DIR,
                        help="folder of the generated lessons (default: %(default)s)")
    commands = parser.add_subparsers(dest="command", required=True)
    lessons = commands.add_parser("lessons", help="regenerate every lesson from its solution")
    lessons.add_argument("--check", action="store_true",
                         help="write nothing; exit 1 if a lesson is not up to date")
    built = commands.add_parser(
        "build", help="rebuild solutions from build.py, execute them in place, regenerate lessons")
    built.add_argument("names", nargs="*", metavar="NN",
                       help="only the lessons whose folder starts with these (e.g. 00 01_autograd)")
    args = parser.parse_args(argv)

    if args.command == "lessons" and args.check:
        problems = check_up_to_date(args.solutions, args.lessons)
        for problem in problems:
            print(problem)
        print("lessons up to date" if not problems else
              "run: python -m minitorch_unet.course lessons")
        return 1 if problems else 0
    if args.command == "lessons":
        changed = generate_all(args.solutions, args.lessons)
        print(f"{len(changed)} lesson(s) rewritten" + "".join(f"\n  {p.name}" for p in changed))
        return 0
    try:
        build(args.names, args.solutions, args.lessons)
    except CellFailed as err:
        print(f"failed: {err}")
        return 1
    return 0
