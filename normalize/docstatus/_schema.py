"""Where the JSON Schema of ``JobStatus.to_json()`` is: ``job_status_schema_path()``."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Final

#: The schema's file name inside the ``docstatus`` package (``specs/job-status.schema.json`` in the
#: repository; in the source tree the package holds a symlink to it, in a wheel a copy).
SCHEMA_NAME: Final = "job-status.schema.json"


def job_status_schema_path() -> Path:
    """The path of the JSON Schema (draft 2020-12) of docstatus's normalized job status.

    It is the language-neutral contract of ``JobStatus.to_json()``, shipped inside the
    ``docstatus`` package and read through ``importlib.resources``, so it is there in a wheel
    and in an editable install alike.

    Raises:
        FileNotFoundError: the package was installed without it (a broken install).
    """
    resource = files("docstatus").joinpath(SCHEMA_NAME)
    path = Path(str(resource))
    if not resource.is_file() or not path.is_file():
        raise FileNotFoundError(f"{SCHEMA_NAME} is missing from the installed docstatus package ({path})")
    return path
