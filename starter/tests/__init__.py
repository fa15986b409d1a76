"""The starter's unit tests: unittest tests, run by `python -m pytest -q` (the Check stage) or by
`python -m unittest discover -s tests -t .` (nothing to install). Both import this package first.

The jobs' files sit side by side in their images (/opt/program), so they import each other by module name:
put their directories on the path, as the images do.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for directory in ("training", "serving"):
    path = os.path.join(ROOT, directory)
    if path not in sys.path:
        sys.path.insert(0, path)
