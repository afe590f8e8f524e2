from hotdata.make import doit_project

globals().update(doit_project())
