"""nbgrader's configuration for this course (instructors: ``pip install ".[grading]"``).

``solutions/`` is nbgrader's source and ``lessons/`` its release; both are found beside
this file, so the class folder (``submitted/``, ``autograded/``, ``feedback/`` and
``gradebook.db``) can live anywhere. Run nbgrader from this folder (it reads this file from
the current folder) and point it at the class folder::

    nbgrader generate_assignment 03_convolution --CourseDirectory.root=CLASS \
             --CourseDirectory.release_directory=CLASS/release
    nbgrader autograde 03_convolution --CourseDirectory.root=CLASS
    nbgrader export --CourseDirectory.root=CLASS --to CLASS/grades.csv

``generate_assignment`` fills the gradebook with the source's check cells; given no other
release folder it rewrites ``lessons/`` in nbgrader's own form (with cell checksums).
Without ``--CourseDirectory.root`` the class folder is this one. The notebooks import
``minitorch_unet``: install the package (``pip install -e ".[grading]"``) in the Python
that runs the kernels. See docs/instructors.md.
"""
from pathlib import Path

COURSE = Path(__file__).resolve().parent

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.source_directory = str(COURSE / "solutions")
c.CourseDirectory.release_directory = str(COURSE / "lessons")
# Never release a lesson's build script (it holds the answers) or caches.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "build.py"]
# A solution notebook may take up to 2 minutes on a CPU; a learner's may take longer per cell.
c.Execute.timeout = 600
