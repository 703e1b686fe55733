"""Build the compiled engine: src_pyx/_engine.pyx (and the .pxi and .h files it includes)
-> micrograd_fast._engine.

Everything else about the project is in pyproject.toml. On an interpreter other
than CPython (PyPy, GraalPy) the extension is not built: the selector uses the
pure engine there, so the wheel is the pure package.
"""
import glob
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

# No contracted multiply-add (FMA): the compiled engine must round exactly as Python
# does, one operation at a time. Each compiler spells it its own way.
NO_FMA_FLAGS = {
    "msvc": ["/O2", "/fp:precise"],
    "unix": ["-O2", "-ffp-contract=off"],  # gcc and clang, also the mingw32 and cygwin types
}


class BuildExtNoFMA(build_ext):
    def build_extensions(self):
        compiler = self.compiler.compiler_type
        flags = NO_FMA_FLAGS.get(compiler, NO_FMA_FLAGS["unix"])
        for extension in self.extensions:
            extension.extra_compile_args = flags + list(extension.extra_compile_args)
        super().build_extensions()


def compiled_engine():
    import Cython
    from Cython.Build import cythonize
    from setuptools import Extension

    engine = Extension(
        "micrograd_fast._engine",
        ["src_pyx/_engine.pyx"],
        depends=sorted(glob.glob("src_pyx/*.pxi") + glob.glob("src_pyx/*.h")),
        # a C string literal: the module reports the Cython it was built with
        define_macros=[("MICROGRAD_FAST_CYTHON_VERSION", f'"{Cython.__version__}"')],
    )
    return cythonize([engine], compiler_directives={"language_level": "3"})


if sys.implementation.name == "cpython":
    setup(ext_modules=compiled_engine(), cmdclass={"build_ext": BuildExtNoFMA})
else:
    setup()
