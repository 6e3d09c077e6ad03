from typing import Any, Dict, List, Optional, Sequence

from ._stancekit import CheckpointError as CheckpointError
from ._stancekit import InputError as InputError
from ._stancekit import StancekitError as StancekitError
from ._stancekit import TrainingError as TrainingError

__version__: str

class Model:
    @property
    def tasks(self) -> List[str]: ...
    @property
    def labels(self) -> Dict[str, List[str]]: ...
    @property
    def manifest(self) -> Dict[str, Any]: ...
    @property
    def path(self) -> str: ...
    def predict(
        self,
        data: Any,
        text_column: Optional[str] = ...,
        probs: bool = ...,
        top_k: int = ...,
        abstain_below: Optional[float] = ...,
        tasks: Sequence[str] = ...,
        thresholds: bool = ...,
        threads: int = ...,
    ) -> Any: ...

def load(path: str) -> Model: ...
def train(config: str, overrides: Optional[Dict[str, Any]] = ..., quiet: bool = ...) -> Dict[str, Any]: ...
def evaluate(
    model: Any,
    data: str,
    out: str,
    text_column: Optional[str] = ...,
    label_columns: Optional[Dict[str, str]] = ...,
    bootstrap: int = ...,
    seed: int = ...,
    thresholds: bool = ...,
) -> Dict[str, Any]: ...
