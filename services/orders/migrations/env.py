from daiko.migrations import run_env
from services.orders.db import Base

run_env(Base.metadata)
