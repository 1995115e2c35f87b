import os
import sys
from pathlib import Path

# LiteLLM must not reach the network: local model cost map, no telemetry. Set before litellm is imported.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_TELEMETRY_DISABLED", "True")

HERE = Path(__file__).resolve().parent
PACKAGE_ROOT = HERE.parent  # integrations/litellm, holding ferry_litellm/
for path in (str(PACKAGE_ROOT), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)
