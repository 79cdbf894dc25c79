# The build is configured in pyproject.toml; this shim only keeps `pip install -e .` working
# for tools that still look for a setup.py. Do not run it directly.
from setuptools import setup

setup()
