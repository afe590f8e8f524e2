"""doit tasks of this repository: `doit fixtures`, `doit validate`, `doit status`, `doit generate`."""

from hotdata.make import doit_project

globals().update(doit_project())
