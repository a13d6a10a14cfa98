"""The store layer: the SQLite database and what lives in it, as plain functions.

Users, organisations and memberships (``_accounts``), spaces and their storage descriptors
(``_spaces``), the file namespace (``_paths``, ``_files``), the upload life cycle (``_uploads``),
run-time settings (``_runtime``), the signing key file (``_keyfile``, read through
:func:`signing_key`) and the cleanup of expired uploads and garbage (``_cleanup``).
Nothing here knows HTTP or authentication; errors are :class:`jetraw.server._problems.Problem`.
The layers above (``auth``, ``http``) import from this package, never from its modules.
"""

from __future__ import annotations

from jetraw.server.store._accounts import (
    NAME_RE,
    ROLES,
    add_membership,
    create_organisation,
    create_user,
    get_organisation,
    get_organisation_by_name,
    get_user,
    get_user_by_email,
    memberships_of,
    organisation_json,
    role_of,
    user_json,
    user_organisations,
    validate_email,
    validate_name,
)
from jetraw.server.store._cleanup import periodic_cleanup, run_cleanup
from jetraw.server.store._db import (
    Database,
    atomic,
    connect,
    rfc3339,
    secure_data_dir,
    signing_key,
    transaction,
)
from jetraw.server.store._files import (
    add_garbage,
    check_destination,
    delete_path,
    directory_json,
    file_json,
    list_entries,
    make_directory,
    move_file,
    not_found,
    remove_directory,
    set_metadata,
    stat_path,
)
from jetraw.server.store._grants import OPERATIONS, authorise, presign
from jetraw.server.store._migrations import MIGRATIONS, SCHEMA_VERSION
from jetraw.server.store._paths import (
    MAX_PATH_BYTES,
    MAX_SEGMENT_BYTES,
    ancestors,
    check_text,
    normalise_path,
    normalise_prefix,
    prefix_upper_bound,
)
from jetraw.server.store._runtime import CACHE_SECONDS, RUNTIME_SETTINGS, RuntimeSettings
from jetraw.server.store._spaces import (
    create_space,
    find_space,
    granted,
    local_root,
    space_json,
    validate_storage,
)
from jetraw.server.store._uploads import (
    abort_upload,
    complete_upload,
    create_upload,
    find_upload,
    upload_json,
)

__all__ = [
    "CACHE_SECONDS",
    "MAX_PATH_BYTES",
    "MAX_SEGMENT_BYTES",
    "MIGRATIONS",
    "NAME_RE",
    "OPERATIONS",
    "ROLES",
    "RUNTIME_SETTINGS",
    "SCHEMA_VERSION",
    "Database",
    "RuntimeSettings",
    "abort_upload",
    "add_garbage",
    "add_membership",
    "ancestors",
    "atomic",
    "authorise",
    "check_destination",
    "check_text",
    "complete_upload",
    "connect",
    "create_organisation",
    "create_space",
    "create_upload",
    "create_user",
    "delete_path",
    "directory_json",
    "file_json",
    "find_space",
    "find_upload",
    "get_organisation",
    "get_organisation_by_name",
    "get_user",
    "get_user_by_email",
    "granted",
    "list_entries",
    "local_root",
    "make_directory",
    "memberships_of",
    "move_file",
    "normalise_path",
    "normalise_prefix",
    "not_found",
    "organisation_json",
    "periodic_cleanup",
    "prefix_upper_bound",
    "presign",
    "remove_directory",
    "rfc3339",
    "role_of",
    "run_cleanup",
    "secure_data_dir",
    "set_metadata",
    "signing_key",
    "space_json",
    "stat_path",
    "transaction",
    "upload_json",
    "user_json",
    "user_organisations",
    "validate_email",
    "validate_name",
    "validate_storage",
]
