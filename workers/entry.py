"""The module each Dramatiq worker process loads: `dramatiq workers.entry:broker`.

Built at import so that every forked process has its own engine and broker connection.
"""

import dramatiq

from app import logs
from app.runtime import build_runtime
from app.settings import Settings
from workers.actors import declare_actors

settings = Settings.from_env()
logs.configure(settings.log_level, settings.log_json)
runtime = build_runtime(settings)
declare_actors(runtime)
broker = runtime.broker
dramatiq.set_broker(broker)
