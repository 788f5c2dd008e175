"""The model registry: admins upload ONNX versions and choose the current one; devices fetch it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Request, Response, UploadFile, status
from fastapi.concurrency import run_in_threadpool

from binwatch.collector.api.defs.common import errors
from binwatch.collector.api.defs.models import CurrentModel, ModelVersionOut
from binwatch.collector.api.deps import (
    AdminDep,
    DatabaseDep,
    DeviceDep,
    ReadSession,
    SettingsDep,
    StoreDep,
    device_or_admin,
)
from binwatch.collector.api.ranges import blob_response
from binwatch.collector.errors import NotFound
from binwatch.collector.names import ModelVersionName
from binwatch.collector.registry import (
    add_version,
    current,
    get_version,
    list_versions,
    make_current,
    model_key,
    parse_metrics,
    roll_back,
)
from binwatch.collector.spool import measure_file

router = APIRouter(tags=["models"])

VersionPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")]
ONNX_MEDIA_TYPE = "application/octet-stream"


@router.post(
    "/models",
    response_model=ModelVersionOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": ModelVersionOut, "description": "this file was already registered"},
        **errors(401, 403, 409, 413, 415, 422),
    },
)
async def upload_model(
    response: Response,
    admin: AdminDep,
    db: DatabaseDep,
    store: StoreDep,
    settings: SettingsDep,
    version: Annotated[ModelVersionName, Form()],
    sha256: Annotated[str, Form(pattern=r"^[0-9a-fA-F]{64}$")],
    file: Annotated[UploadFile, File(description="the ONNX file")],
    metrics: Annotated[str, Form(max_length=65536, description='JSON object, e.g. {"top1": 0.91}')] = "{}",
) -> ModelVersionOut:
    """Register a model version (multipart form); the file's SHA-256 must equal ``sha256``."""
    parsed = parse_metrics(metrics)

    def register() -> ModelVersionOut:
        upload = measure_file(file.file, settings.max_model_bytes)
        row, created = add_version(db, store, version=version, upload=upload, sha256=sha256, metrics=parsed, user=admin)
        if not created:
            response.status_code = status.HTTP_200_OK
        with db.read() as session:
            now = current(session)
        return ModelVersionOut.of(row, now is not None and now.version == row.version)

    return await run_in_threadpool(register)


@router.get("/models", response_model=list[ModelVersionOut], responses=errors(401, 403))
def get_models(session: ReadSession, admin: AdminDep) -> list[ModelVersionOut]:
    return [ModelVersionOut.of(listed.version, listed.current) for listed in list_versions(session)]


@router.post("/models/{version}/current", response_model=ModelVersionOut, responses=errors(401, 403, 404, 422))
def set_current(version: VersionPath, admin: AdminDep, db: DatabaseDep) -> ModelVersionOut:
    """Make this version the one devices fetch."""
    with db.write() as session:
        return ModelVersionOut.of(make_current(session, version, admin), True)


@router.post("/models/rollback", response_model=ModelVersionOut, responses=errors(401, 403, 409))
def rollback(admin: AdminDep, db: DatabaseDep) -> ModelVersionOut:
    """Make the previously current version current again."""
    with db.write() as session:
        return ModelVersionOut.of(roll_back(session), True)


@router.get("/device/model", response_model=CurrentModel, responses=errors(401, 404))
def device_model(request: Request, session: ReadSession, device: DeviceDep) -> CurrentModel:
    """The current model for a device: compare ``version``/``sha256`` with what it runs, then download ``url``."""
    now = current(session)
    if now is None:
        raise NotFound("no model version is current")
    return CurrentModel(
        version=now.version,
        sha256=now.sha256,
        size=now.size,
        url=str(request.url_for("download_model", version=now.version)),
    )


@router.get(
    "/models/{version}/file",
    response_class=Response,
    responses={
        200: {"content": {ONNX_MEDIA_TYPE: {}}, "description": "the ONNX file"},
        206: {"description": "the requested byte range"},
        416: {"description": "range not satisfiable"},
        **errors(401, 403, 404, 422),
    },
)
def download_model(
    version: VersionPath,
    request: Request,
    session: ReadSession,
    store: StoreDep,
    reader: Annotated[object, Depends(device_or_admin)],
) -> Response:
    """The ONNX file of a version, for devices and admins; honours ``Range`` so a download can resume."""
    row = get_version(session, version)
    return blob_response(request, store, model_key(version), ONNX_MEDIA_TYPE, f"{version}.onnx", row.sha256)
