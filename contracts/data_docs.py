"""Great Expectations Data Docs for one contract check: an HTML report a person can open.

enforce_contract validates in a throwaway in-memory context and writes nothing. This module runs
the same suite on the same frame through a file context instead, with a checkpoint whose
UpdateDataDocsAction renders the local Data Docs site. It is slower (it writes the suite, the
validation result and the site), so callers use it when a check found violations or on demand.
"""

from datetime import datetime
from pathlib import Path

# contracts.enforcement switches GX analytics off before GX is first imported.
from contracts.enforcement import RESULT_FORMAT, expectation_suite, validation_frame  # isort: skip

import great_expectations as gx
import pandas
from great_expectations.checkpoint import UpdateDataDocsAction
from great_expectations.data_context.types.base import ProgressBarsConfig

from contracts.document_contract import DocumentContract

_DATA_SOURCE = "corpusgov_documents"
_ASSET = "documents"
_SITE = "local_site"  # the site a new file context configures


def build_data_docs(contract: DocumentContract, documents: pandas.DataFrame, target_dir: Path,
                    now: datetime | None = None) -> Path:
    """Validate documents against the contract and return the local Data Docs index.html.

    target_dir becomes (or is reused as) the GX project folder, e.g. <data_dir>/gx; every call
    adds one validation result to the site. Nothing leaves the machine. Raises
    DocumentFrameError on a malformed frame, like enforce_contract.
    """
    frame = validation_frame(contract, documents, now)
    suite = expectation_suite(contract)  # before the file context: it builds GX's shared one first
    target_dir = Path(target_dir)
    context = gx.get_context(mode="file", context_root_dir=target_dir)
    context.enable_analytics(False)
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    context.variables.save()

    batch_definition = (
        context.data_sources.add_or_update_pandas(_DATA_SOURCE)
        .add_dataframe_asset(_ASSET)
        .add_batch_definition_whole_dataframe("run")
    )
    suite = context.suites.add_or_update(suite)
    validation = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=suite.name, data=batch_definition, suite=suite))
    checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
        name=suite.name,
        validation_definitions=[validation],
        actions=[UpdateDataDocsAction(name="update_data_docs", site_names=[_SITE])],
        result_format=RESULT_FORMAT,
    ))
    checkpoint.run(batch_parameters={"dataframe": frame})
    return target_dir / "uncommitted" / "data_docs" / _SITE / "index.html"
