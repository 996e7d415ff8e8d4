from daiko.migrations import run_env
from services.messaging.db import Base

run_env(Base.metadata)
