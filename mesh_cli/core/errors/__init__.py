"""The one exception hierarchy. Each error builds its own message: what, where, how to fix.

One module per family; every error is importable from here."""
from mesh_cli.core.errors.base import MeshError, ConfigError, DiscoveryError, DuplicateDomainError, ViolationError, Violations, ChecksFailedError, raise_all, CancelledError
from mesh_cli.core.errors.refs import UnknownDomainError, UnknownModelError, AccessViolationError, CycleError, NotBuiltError, AmbiguousRefError
from mesh_cli.core.errors.discovery import UnknownProductError, UnknownNodeError, UnknownColumnError, LineageUnavailableError, DocsOutputError, PortInUseError, LineageTargetError, InvalidSelectorError, UnknownSelectedModelError, SelectionNotParsedError
from mesh_cli.core.errors.scaffold import ScaffoldError, FilesExistError, InvalidDomainNameError, DomainExistsError, InvalidEmailError, NotAMeshError, NoDomainFolderError
from mesh_cli.core.errors.contracts import ContractFileError, ContractInvalidError, GitRefError, NotParsedError, UnsupportedManifestError
from mesh_cli.core.errors.remote import RemoteStateError, UnreachableStateError, NotPublishedError, NewerStateError, UnknownPublishedBuildError, InvalidStateError, ExternalClashError, ExternalStatesError, ExternalStorageError, PublishError, MissingExtraError
from mesh_cli.core.errors.runs import BuildLockedError, NothingToRetryError, HistoryError, UnknownBuildError, DepsFailedError
from mesh_cli.core.errors.warehouse import WarehouseError, UnsupportedAdapterError, WarehouseConnectionError, WarehouseStatementError, StagingSchemaMissingError

__all__ = [
    "AccessViolationError",
    "AmbiguousRefError",
    "BuildLockedError",
    "CancelledError",
    "ChecksFailedError",
    "ConfigError",
    "ContractFileError",
    "ContractInvalidError",
    "CycleError",
    "DepsFailedError",
    "DiscoveryError",
    "DocsOutputError",
    "DomainExistsError",
    "DuplicateDomainError",
    "ExternalClashError",
    "ExternalStatesError",
    "ExternalStorageError",
    "FilesExistError",
    "GitRefError",
    "HistoryError",
    "InvalidDomainNameError",
    "InvalidEmailError",
    "InvalidSelectorError",
    "InvalidStateError",
    "LineageTargetError",
    "LineageUnavailableError",
    "MeshError",
    "MissingExtraError",
    "NewerStateError",
    "NoDomainFolderError",
    "NotAMeshError",
    "NotBuiltError",
    "NotParsedError",
    "NotPublishedError",
    "NothingToRetryError",
    "PortInUseError",
    "PublishError",
    "RemoteStateError",
    "ScaffoldError",
    "SelectionNotParsedError",
    "UnknownBuildError",
    "UnknownColumnError",
    "UnknownDomainError",
    "UnknownModelError",
    "UnknownNodeError",
    "UnknownProductError",
    "UnknownPublishedBuildError",
    "UnknownSelectedModelError",
    "UnreachableStateError",
    "UnsupportedAdapterError",
    "UnsupportedManifestError",
    "ViolationError",
    "Violations",
    "StagingSchemaMissingError",
    "WarehouseConnectionError",
    "WarehouseError",
    "WarehouseStatementError",
    "raise_all",
]
