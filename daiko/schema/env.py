from daiko.migrations import PLUMBING_VERSION_TABLE, run_env
from daiko.tables import PlumbingBase

run_env(PlumbingBase.metadata, version_table=PLUMBING_VERSION_TABLE)
