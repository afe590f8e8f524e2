from hotdata.build import doit_project

globals().update(doit_project())
