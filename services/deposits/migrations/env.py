from daiko.migrations import run_env
from services.deposits.db import Base

run_env(Base.metadata)
