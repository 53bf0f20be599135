"""Users, roles and grants of ``redkite serve``, kept in ``<data>/rbac.json``.

Milvus's model: users with passwords (the user ``root`` always exists and may do
everything), roles (``admin`` and ``public`` are built in; ``admin`` may do everything,
every user holds ``public``), users bound to roles, privilege groups (the built-in ones of
:data:`~redkite.server.privileges.BUILTIN_GROUPS` and user-defined ones), and grants of a
privilege or a group on an object to a role. Passwords are stored as salted scrypt hashes; a password verified once is
remembered (as a SHA-256 digest) so each call does not pay scrypt's cost again. Every
change rewrites the file atomically (a temporary file, fsync, rename) before it is
acknowledged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from pathlib import Path
from typing import Any, Iterable

from ..errors import ParamError
from . import privileges

FILE_NAME = "rbac.json"
ROOT_USER = "root"
DEFAULT_ROOT_PASSWORD = "Milvus"
ADMIN_ROLE, PUBLIC_ROLE = "admin", "public"
BUILTIN_ROLES = (ADMIN_ROLE, PUBLIC_ROLE)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_NAME_LENGTH = 32
PASSWORD_LENGTH = (6, 256)  # Milvus's bounds
_SCRYPT = {"n": 1 << 14, "r": 8, "p": 1, "dklen": 32}


def hash_password(password: str, salt: bytes) -> str:
    return hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT).hex()


def _check_name(kind: str, name: str) -> None:
    if not name or len(name) > MAX_NAME_LENGTH or not _NAME.fullmatch(name):
        raise ParamError(f"invalid {kind} name {name!r}: it must start with a letter or '_', "
                         f"hold only letters, digits and '_', and be at most "
                         f"{MAX_NAME_LENGTH} characters")


def _check_password(password: str) -> None:
    low, high = PASSWORD_LENGTH
    if not low <= len(password) <= high:
        raise ParamError(f"invalid password: its length must be between {low} and {high} "
                         f"characters, got {len(password)}")


class AuthStore:
    """The users, roles and grants of one database directory (thread-safe)."""

    def __init__(self, directory: str | os.PathLike,
                 root_password: str = DEFAULT_ROOT_PASSWORD) -> None:
        self.path = Path(directory) / FILE_NAME
        self._lock = threading.RLock()
        self._verified: dict[str, bytes] = {}
        if self.path.exists():
            self._state = json.loads(self.path.read_text())
        else:
            self._state = {"version": 1, "users": {}, "grants": [],
                           "roles": {name: {"description": ""} for name in BUILTIN_ROLES}}
            self._state["users"][ROOT_USER] = self._user_record(root_password, "")
            self._save()

    # ---- persistence ---------------------------------------------------------------------
    def _save(self) -> None:
        tmp = self.path.with_suffix(".json.tmp")
        with open(tmp, "w") as out:
            json.dump(self._state, out, indent=1, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)

    @staticmethod
    def _user_record(password: str, description: str, roles: Iterable[str] = ()) -> dict:
        salt = secrets.token_bytes(16)
        return {"salt": salt.hex(), "hash": hash_password(password, salt),
                "description": description, "roles": sorted(roles)}

    # ---- authentication ------------------------------------------------------------------
    def verify(self, user: str, password: str) -> bool:
        """Whether ``password`` is ``user``'s password."""
        digest = hashlib.sha256(password.encode()).digest()
        with self._lock:
            if hmac.compare_digest(self._verified.get(user, b""), digest):
                return True
            record = self._state["users"].get(user)
        if record is None:
            return False
        ok = hmac.compare_digest(hash_password(password, bytes.fromhex(record["salt"])),
                                 record["hash"])
        if ok:
            with self._lock:
                if self._state["users"].get(user) is record:
                    self._verified[user] = digest
        return ok

    def is_superuser(self, user: str) -> bool:
        with self._lock:
            record = self._state["users"].get(user)
            return user == ROOT_USER or (record is not None and ADMIN_ROLE in record["roles"])

    def grants_of_user(self, user: str) -> list[dict]:
        """The grants of every role ``user`` holds, ``public`` included; a grant of a
        privilege group carries the group's privileges as ``members``."""
        with self._lock:
            record = self._state["users"].get(user)
            roles = {PUBLIC_ROLE, *(record["roles"] if record else ())}
            groups = self._groups()
            return [dict(g, members=frozenset(groups[g["privilege"]]))
                    if g["privilege"] in groups else g
                    for g in self._state["grants"] if g["role"] in roles]

    # ---- users ---------------------------------------------------------------------------
    def create_user(self, user: str, password: str, description: str = "") -> None:
        _check_name("user", user)
        _check_password(password)
        with self._lock:
            if user in self._state["users"]:
                raise ParamError(f"user {user!r} already exists")
            self._state["users"][user] = self._user_record(password, description)
            self._save()

    def update_password(self, user: str, old_password: str, new_password: str, *,
                        check_old: bool) -> None:
        """Set ``user``'s password; ``check_old``: the old one must be given correctly."""
        self._user(user)
        if check_old and not self.verify(user, old_password):
            raise ParamError(f"the old password of user {user!r} is not correct")
        _check_password(new_password)
        with self._lock:
            record = self._user(user)
            self._state["users"][user] = self._user_record(
                new_password, record["description"], record["roles"])
            self._verified.pop(user, None)
            self._save()

    def update_description(self, user: str, description: str) -> None:
        with self._lock:
            self._user(user)["description"] = description
            self._save()

    def delete_user(self, user: str) -> None:
        if user == ROOT_USER:
            raise ParamError("the root user cannot be deleted")
        with self._lock:
            self._user(user)
            del self._state["users"][user]
            self._verified.pop(user, None)
            self._save()

    def list_users(self) -> list[str]:
        with self._lock:
            return sorted(self._state["users"])

    def describe_users(self, user: str | None = None) -> list[dict]:
        """``[{"name", "description", "roles"}]`` of ``user`` (None: every user); an
        unknown user gives an empty list, as Milvus."""
        with self._lock:
            users = self._state["users"]
            names = sorted(users) if user is None else [user] if user in users else []
            return [{"name": name, "description": users[name]["description"],
                     "roles": list(users[name]["roles"])} for name in names]

    def _user(self, user: str) -> dict:
        record = self._state["users"].get(user)
        if record is None:
            raise ParamError(f"user {user!r} does not exist")
        return record

    # ---- roles ---------------------------------------------------------------------------
    def create_role(self, role: str, description: str = "") -> None:
        _check_name("role", role)
        with self._lock:
            if role in self._state["roles"]:
                raise ParamError(f"role {role!r} already exists")
            self._state["roles"][role] = {"description": description}
            self._save()

    def drop_role(self, role: str, force: bool = False) -> None:
        """Drop ``role`` and its bindings; one holding grants needs ``force``."""
        if role in BUILTIN_ROLES:
            raise ParamError(f"the built-in role {role!r} cannot be dropped")
        with self._lock:
            self._role(role)
            grants = [g for g in self._state["grants"] if g["role"] == role]
            if grants and not force:
                raise ParamError(f"role {role!r} still holds {len(grants)} privilege(s): "
                                 "revoke them first or drop with force_drop=True")
            del self._state["roles"][role]
            self._state["grants"] = [g for g in self._state["grants"] if g["role"] != role]
            for record in self._state["users"].values():
                if role in record["roles"]:
                    record["roles"].remove(role)
            self._save()

    def describe_roles(self, role: str | None = None) -> list[dict]:
        """``[{"name", "description", "users"}]`` of ``role`` (None: every role); an unknown
        role gives an empty list."""
        with self._lock:
            roles = self._state["roles"]
            names = sorted(roles) if role is None else [role] if role in roles else []
            return [{"name": name, "description": roles[name]["description"],
                     "users": sorted(u for u, r in self._state["users"].items()
                                     if name in r["roles"])} for name in names]

    def bind(self, user: str, role: str, add: bool) -> None:
        """Add ``user`` to ``role`` (``add``) or remove it."""
        with self._lock:
            record = self._user(user)
            self._role(role)
            if add and role not in record["roles"]:
                record["roles"] = sorted([*record["roles"], role])
            elif not add:
                if role not in record["roles"]:
                    raise ParamError(f"user {user!r} does not hold role {role!r}")
                record["roles"].remove(role)
            self._save()

    def _role(self, role: str) -> dict:
        record = self._state["roles"].get(role)
        if record is None:
            raise ParamError(f"role {role!r} does not exist")
        return record

    # ---- grants --------------------------------------------------------------------------
    def operate_privilege(self, grant: dict[str, str], grant_it: bool,
                          builtin_groups: bool = False) -> None:
        """Grant (or revoke) ``{"role", "object", "object_name", "privilege", "db_name",
        "grantor"}``; a privilege is checked against the object type, a created privilege
        group may be granted on any object, a built-in group only with ``builtin_groups``
        (grant_privilege_v2, as in Milvus)."""
        if grant["privilege"] in privileges.BUILTIN_GROUPS and not builtin_groups:
            raise ParamError(f"the built-in privilege group {grant['privilege']!r} can only "
                             "be granted or revoked with grant_privilege_v2 / "
                             "revoke_privilege_v2")
        if grant["privilege"] not in self._groups():
            grant = dict(grant, privilege=privileges.normalize_privilege(
                grant["object"], grant["privilege"]))
        if not grant["object_name"]:
            raise ParamError("a grant needs an object name ('*' for every object)")
        key = ("role", "object", "object_name", "privilege", "db_name")
        with self._lock:
            self._role(grant["role"])
            kept = [g for g in self._state["grants"]
                    if any(g[k] != grant[k] for k in key)]
            if grant_it:
                kept.append(grant)
            elif len(kept) == len(self._state["grants"]):
                raise ParamError(f"role {grant['role']!r} holds no privilege "
                                 f"{grant['privilege']!r} on {grant['object']} "
                                 f"{grant['object_name']!r} in database {grant['db_name']!r}")
            self._state["grants"] = kept
            self._save()

    def operate_privilege_v2(self, role: str, privilege: str, db_name: str,
                             collection_name: str, grantor: str, grant_it: bool) -> None:
        """grant_privilege_v2: the object type follows from the privilege or group (a
        Global one needs collection ``*``; a cluster-level group also database ``*``)."""
        object_type = privileges.object_type_of(privilege, self.privilege_group_names())
        if privileges.group_level(privilege) == "Cluster" and db_name != privileges.ANY:
            raise ParamError(f"privilege group {privilege!r} is a cluster-level group: "
                             f"db_name and collection_name must be '*', got db_name "
                             f"{db_name!r}")
        if object_type == privileges.COLLECTION:
            object_name = collection_name
        elif collection_name not in ("", privileges.ANY):
            raise ParamError(f"privilege {privilege!r} applies to the {object_type} object: "
                             f"collection_name must be '*', got {collection_name!r}")
        else:
            object_name = privileges.ANY
        self.operate_privilege({"role": role, "object": object_type,
                                "object_name": object_name, "privilege": privilege,
                                "db_name": db_name, "grantor": grantor}, grant_it=grant_it,
                               builtin_groups=True)

    def select_grants(self, role: str, object_type: str = "", object_name: str = "",
                      db_name: str = "") -> list[dict[str, Any]]:
        """The grants of ``role``, optionally narrowed to one object and database."""
        with self._lock:
            self._role(role)
            return [dict(g) for g in self._state["grants"] if g["role"] == role
                    and (not object_type or g["object"] == object_type)
                    and (not object_name or g["object_name"] == object_name)
                    and (not db_name or g["db_name"] == db_name)]

    # ---- privilege groups ----------------------------------------------------------------
    def _groups(self) -> dict[str, list[str]]:
        """Every privilege group, built-in ones first: name -> privileges."""
        custom = self._state.get("privilege_groups", {})
        return {**{k: list(v) for k, v in privileges.BUILTIN_GROUPS.items()}, **custom}

    def _custom_group(self, group: str) -> list[str]:
        if group in privileges.BUILTIN_GROUPS:
            raise ParamError(f"the built-in privilege group {group!r} cannot be changed or "
                             "dropped")
        members = self._state.get("privilege_groups", {}).get(group)
        if members is None:
            raise ParamError(f"privilege group {group!r} does not exist")
        return members

    def privilege_group_names(self) -> list[str]:
        with self._lock:
            return list(self._groups())

    def create_privilege_group(self, group: str) -> None:
        """Create an empty privilege group; its name may not be a privilege's."""
        _check_name("privilege group", group)
        with self._lock:
            if group in self._groups():
                raise ParamError(f"privilege group {group!r} already exists")
            if group in privileges.MILVUS_PRIVILEGES or group in (privileges.ALL, "ReadOnly",
                                                                  "ReadWrite", "Admin"):
                raise ParamError(f"privilege group name {group!r} is the name of a "
                                 "privilege")
            self._state.setdefault("privilege_groups", {})[group] = []
            self._save()

    def drop_privilege_group(self, group: str) -> None:
        """Drop a created group; one still granted to a role is refused."""
        with self._lock:
            self._custom_group(group)
            roles = sorted({g["role"] for g in self._state["grants"]
                            if g["privilege"] == group})
            if roles:
                raise ParamError(f"privilege group {group!r} is granted to role(s) {roles}: "
                                 "revoke it first")
            del self._state["privilege_groups"][group]
            self._save()

    def list_privilege_groups(self) -> list[dict]:
        """``[{"privilege_group", "privileges"}]``: the built-in groups, then created ones."""
        with self._lock:
            return [{"privilege_group": name, "privileges": list(members)}
                    for name, members in self._groups().items()]

    def operate_privilege_group(self, group: str, privilege_names: list[str],
                                add: bool) -> None:
        """Add privileges to a created group (``add``) or remove them from it."""
        unknown = sorted(set(privilege_names) - privileges.MILVUS_PRIVILEGES)
        if unknown or not privilege_names:
            raise ParamError(f"invalid privileges {unknown or privilege_names!r} for "
                             f"privilege group {group!r}: expected names among "
                             f"{sorted(privileges.MILVUS_PRIVILEGES)}")
        with self._lock:
            members = self._custom_group(group)
            if add:
                members.extend(p for p in dict.fromkeys(privilege_names) if p not in members)
            else:
                members[:] = [p for p in members if p not in set(privilege_names)]
            self._save()
