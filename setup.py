"""Build the compiled engine: src_pyx/_engine.pyx -> micrograd_fast._engine.

Everything else about the project is in pyproject.toml.
"""
from Cython.Build import cythonize
from setuptools import Extension, setup

engine = Extension(
    "micrograd_fast._engine",
    ["src_pyx/_engine.pyx"],
    # No fused multiply-add: the compiled engine must round exactly as Python does.
    extra_compile_args=["-O2", "-ffp-contract=off"],
)

setup(ext_modules=cythonize([engine], compiler_directives={"language_level": "3"}))
