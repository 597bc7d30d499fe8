"""The build's one native part; everything else is declared in pyproject.toml.

softphone/audio/pump.c is the call-audio pump (native_pump.py loads it with ctypes). It is an
optional extension: a machine without a C compiler installs without it and the audio thread
uses the Python pump (it logs so). It is a plain C library that only carries an extension
module's file name (no Python API), so one build serves every Python version.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("softphone.audio._pump", ["softphone/audio/pump.c"], optional=True,
                  extra_compile_args=["-O2", "-Wall"]),
    ],
)
