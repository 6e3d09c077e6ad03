from typing import Dict, List, Optional, Tuple

__version__: str

class StancekitError(Exception): ...
class InputError(StancekitError): ...
class CheckpointError(StancekitError): ...
class TrainingError(StancekitError): ...

class ArrowColumn:
    """One added column; `pyarrow.array(column)` takes it over (Arrow PyCapsule interface)."""
    @property
    def name(self) -> str: ...
    def __arrow_c_array__(self, requested_schema: Optional[object] = ...) -> Tuple[object, object]: ...

class Model:
    @property
    def tasks(self) -> List[str]: ...
    @property
    def labels(self) -> Dict[str, List[str]]: ...
    @property
    def manifest_json(self) -> str: ...
    @property
    def default_text_column(self) -> str: ...
    @property
    def path(self) -> str: ...
    def label_arrow(
        self,
        schema: object,
        array: object,
        input_columns: List[str],
        text_column: str,
        tasks: List[str] = ...,
        probs: bool = ...,
        top_k: int = ...,
        abstain_below: Optional[float] = ...,
        thresholds: bool = ...,
        threads: int = ...,
    ) -> List[ArrowColumn]: ...

def load(path: str) -> Model: ...
def train(config: str, overrides: List[str] = ..., quiet: bool = ...) -> str: ...
def evaluate(
    model: str,
    data: str,
    out: str,
    text_column: Optional[str] = ...,
    label_columns: List[str] = ...,
    bootstrap: int = ...,
    seed: int = ...,
    thresholds: bool = ...,
) -> str: ...
