"""Build the compiled engine: src_pyx/_engine.pyx (and the .pxi files it includes) -> micrograd_fast._engine.

Everything else about the project is in pyproject.toml.
"""
from glob import glob

import Cython
from Cython.Build import cythonize
from setuptools import Extension, setup

engine = Extension(
    "micrograd_fast._engine",
    ["src_pyx/_engine.pyx"],
    depends=glob("src_pyx/*.pxi"),
    define_macros=[("MICROGRAD_FAST_CYTHON_VERSION", f'"{Cython.__version__}"')],
    # No fused multiply-add: the compiled engine must round exactly as Python does.
    extra_compile_args=["-O2", "-ffp-contract=off"],
)

setup(ext_modules=cythonize([engine], compiler_directives={"language_level": "3"}))
