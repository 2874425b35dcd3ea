"""The campaign form's routes: ``/campaigns/new``, ``/campaigns/{id}/edit``,
``POST /api/campaigns/preview``, ``POST /api/campaigns`` (create from a stored lead list)
and ``PUT /api/campaigns/{id}`` (edit a draft or paused campaign).

The form (:mod:`voicekit_dashboard.campaign_form`) comes as form fields (the page, with
htmx: errors come back inline in the re-rendered form, status 200) or as JSON (errors are
422 naming the fields, 409 for a taken name). Included by :mod:`.campaigns`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import select, update
from starlette.concurrency import run_in_threadpool

from voicekit_core.campaigns import repo
from voicekit_core.campaigns.overrides import (
    CampaignOverrides,
    OverrideError,
    campaign_overrides,
    effective_dialer,
    preview,
    set_overrides,
)
from voicekit_core.errors import LeadFileError
from voicekit_core.leads import Lead
from voicekit_core.store.tables import campaign_events
from voicekit_core.store.tables import campaigns as campaigns_table

from ..campaign_form import (
    DAY_LABELS,
    CampaignInput,
    FormValues,
    build_overrides,
    deployment_texts,
    form_values,
    parse_form,
    read_form,
)
from ..campaign_views import (
    CampaignDetail,
    CampaignRow,
    ImportSummary,
    campaign_detail,
    campaign_row,
    import_summary,
    lead_progress,
)
from ..web import Dash, DashboardState, is_htmx, page

router = APIRouter()
TAGS: list[str] = ["campaigns"]
#: States in which the form may change a campaign.
EDITABLE_STATES = frozenset({"draft", "paused"})
#: Leads offered for the preview.
PREVIEW_LEADS = 20
#: Lead lists whose preview leads are kept in memory.
CACHED_LISTS = 8


# -- models ---------------------------------------------------------------------------------

#: The request body of create, edit and preview, for the OpenAPI document: JSON
#: (:class:`CampaignInput`) or the page's form fields (the same names; ``delays.<disp>``
#: and ``hours.<day>`` as text).
FORM_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": CampaignInput.model_json_schema()},
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "additionalProperties": {"type": "string"}}
            },
        },
    }
}


class CreatedCampaign(BaseModel):
    """A new campaign (``draft``) and what its import did."""

    campaign: CampaignRow
    imported: ImportSummary


class PreviewProblem(BaseModel):
    """Why the form cannot be saved: the ``field`` and the ``reason``."""

    field: str
    reason: str


class PreviewResult(BaseModel):
    """The instructions and greeting a call would start with for ``lead`` (its name), and
    the form's problems (``ok`` when there are none: it can be saved)."""

    lead: str
    instructions: str
    greeting: str
    problems: list[PreviewProblem]
    ok: bool


# -- helpers --------------------------------------------------------------------------------


def user_of(request: Request) -> str:
    return str(request.session.get("user") or "someone")


def found(dash: DashboardState, campaign_id: str) -> repo.Campaign:
    """The campaign with this id (or name); 404 when there is none."""
    try:
        return repo.find_campaign(dash.store, campaign_id)
    except repo.CampaignError:
        raise HTTPException(404, f"no campaign with id {campaign_id[:80]!r}") from None


async def _submitted(request: Request) -> tuple[FormValues | None, CampaignInput, dict[str, str]]:
    """The campaign form from a form post or a JSON body: the raw values (forms only),
    the parsed input and per-field errors. A JSON body that does not fit
    :class:`CampaignInput` is a 422 naming the fields."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:
            raise HTTPException(400, "the request body is not JSON") from None
        try:
            return None, CampaignInput.model_validate(body), {}
        except ValidationError as exc:
            problems = [
                f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
                for e in exc.errors()
            ]
            raise HTTPException(422, "; ".join(problems)) from None
    form = await request.form()
    values = read_form({key: form.get(key) for key in form})
    data, errors = parse_form(values)
    return values, data, errors


def _refuse(errors: dict[str, str], status: int = 422) -> HTTPException:
    return HTTPException(status, "; ".join(f"{key}: {reason}" for key, reason in errors.items()))


def _cached_leads(dash: DashboardState, key: str, read: Callable[[], list[Lead]]) -> list[Lead]:
    """The preview leads under ``key``, read once: a stored lead list never changes (a new
    upload is a new list) and neither do a campaign's imported leads, so the next
    keystroke's preview reuses them (at most :data:`CACHED_LISTS` keys are kept)."""
    cache: dict[str, list[Lead]] = dash.services.setdefault("campaign_preview_leads", {})
    if key not in cache:
        leads = read()
        while len(cache) >= CACHED_LISTS:
            cache.pop(next(iter(cache)))
        cache[key] = leads
    return cache[key]


def _lead_choices_of_list(dash: DashboardState, list_id: str | None) -> list[Lead]:
    """The first valid leads of a stored lead list (none when it cannot be read)."""
    from voicekit_core.lead_csv import LeadBook
    from voicekit_core.lead_lists import LeadListError, materialize
    from voicekit_core.phones import PhonePolicy

    def read() -> list[Lead]:
        with materialize(dash.store, list_id or "") as path:
            book = LeadBook(path, policy=PhonePolicy.from_config(dash.deployment.config))
            return list(itertools.islice(book, PREVIEW_LEADS))

    if not list_id:
        return []
    try:
        return _cached_leads(dash, f"list:{list_id}", read)
    except (LeadListError, LeadFileError):
        return []


def _lead_choices_of_campaign(dash: DashboardState, campaign_id: str) -> list[Lead]:
    """The campaign's first imported leads."""
    from voicekit_core.campaigns.overrides import campaign_lead
    from voicekit_core.store.tables import campaign_leads

    def read() -> list[Lead]:
        with dash.store.read() as db:
            ids = db.execute(
                select(campaign_leads.c.id)
                .where(campaign_leads.c.campaign_id == campaign_id)
                .order_by(campaign_leads.c.id)
                .limit(PREVIEW_LEADS)
            ).scalars()
            ids = list(ids)
        leads = (campaign_lead(dash.store, campaign_id, lead_id) for lead_id in ids)
        return [lead for lead in leads if lead is not None]

    return _cached_leads(dash, f"campaign:{campaign_id}", read)


def _chosen(leads: list[Lead], index: str | int | None) -> tuple[int, Lead | None]:
    try:
        position = int(index or 0)
    except ValueError:
        position = 0
    if not leads:
        return 0, None
    position = min(max(position, 0), len(leads) - 1)
    return position, leads[position]


def _lead_label(lead: Lead | None) -> str:
    if lead is None:
        return ""
    from voicekit_core.masking import display_phone

    name = lead.name or display_phone(lead.phone)
    return f"{name} ({lead.company})" if lead.company else name


def _lead_lists(dash: DashboardState) -> list[Any]:
    from voicekit_core.lead_lists import list_lead_lists

    return list_lead_lists(dash.store)


def _default_list(dash: DashboardState, wanted: str | None) -> str:
    from voicekit_core.lead_lists import selected_lead_list

    if wanted:
        return wanted
    chosen = selected_lead_list(dash.store)
    return chosen.id if chosen else ""


# -- the form -------------------------------------------------------------------------------


def _preview_context(
    dash: DashboardState,
    data: CampaignInput,
    errors: dict[str, str],
    preview_lead: str | int | None,
    *,
    campaign: repo.Campaign | None,
) -> dict[str, Any]:
    """What the preview shows: the lead chooser, the rendered texts and every problem."""
    config = dash.deployment.config
    base = _base_overrides(campaign)
    overrides, override_errors = build_overrides(config, data, base)
    problems = {**override_errors, **errors}
    if campaign is not None:
        leads = _lead_choices_of_campaign(dash, campaign.id)
    else:
        leads = _lead_choices_of_list(dash, data.lead_list or _default_list(dash, None))
    position, lead = _chosen(leads, preview_lead)
    rendered = preview(config, overrides, lead)
    return {
        "preview_leads": [_lead_label(one) for one in leads],
        "preview_position": position,
        "preview_lead": _lead_label(lead),
        "rendered": rendered,
        "problems": problems,
    }


def _base_overrides(campaign: repo.Campaign | None) -> CampaignOverrides:
    if campaign is None:
        return CampaignOverrides()
    try:
        return campaign_overrides(campaign)
    except OverrideError:
        return CampaignOverrides()


def _form_page(
    request: Request,
    dash: DashboardState,
    values: FormValues,
    *,
    campaign: repo.Campaign | None,
    errors: dict[str, str] | None = None,
    fragment: bool = False,
):
    data, parse_errors = parse_form(values)
    context = _preview_context(dash, data, parse_errors, values.preview_lead, campaign=campaign)
    editable = campaign is None or campaign.state in EDITABLE_STATES
    return page(
        request,
        "campaign_form_body.html" if fragment else "campaign_form.html",
        active="campaigns",
        mode="edit" if campaign else "create",
        campaign=campaign,
        editable=editable,
        values=values,
        errors=errors or {},
        lead_lists=_lead_lists(dash) if campaign is None else [],
        days=DAY_LABELS,
        oob=False,
        **context,
    )


@router.get("/campaigns/new", include_in_schema=False)
def new_campaign_page(
    request: Request,
    dash: Dash,
    lead_list: Annotated[str | None, Query(alias="list")] = None,
):
    config = dash.deployment.config
    instructions, greeting = deployment_texts(config)
    values = form_values(
        config,
        config.dialer,
        instructions=instructions,
        greeting=greeting,
        lead_list=_default_list(dash, lead_list),
    )
    return _form_page(request, dash, values, campaign=None)


@router.get("/campaigns/{campaign_id}/edit", include_in_schema=False)
def edit_campaign_page(request: Request, campaign_id: str, dash: Dash):
    campaign = found(dash, campaign_id)
    config = dash.deployment.config
    overrides = _base_overrides(campaign)
    instructions, greeting = deployment_texts(config)
    try:
        settings = effective_dialer(config, campaign)
    except OverrideError:
        settings = config.dialer
    values = form_values(
        config,
        settings,
        instructions=overrides.instructions if overrides.instructions is not None else instructions,
        greeting=overrides.greeting if overrides.greeting is not None else greeting,
        name=campaign.name,
    )
    return _form_page(request, dash, values, campaign=campaign)


@router.post(
    "/api/campaigns/preview", tags=TAGS, response_model=PreviewResult, openapi_extra=FORM_BODY
)
async def preview_campaign(
    request: Request,
    dash: Dash,
    campaign: Annotated[str | None, Query(description="id of the campaign being edited")] = None,
    lead: Annotated[int | None, Query(ge=0, description="which preview lead (0 = first)")] = None,
):
    """Render the form's instructions and greeting for one lead (of the chosen lead list,
    or of ``campaign``) and list the form's problems (an unknown ``{lead.*}`` placeholder,
    a bad number, window or date). Nothing is saved."""
    values, data, errors = await _submitted(request)
    edited = found(dash, campaign) if campaign else None
    chosen = values.preview_lead if values is not None and lead is None else lead
    context = await run_in_threadpool(_preview_context, dash, data, errors, chosen, campaign=edited)
    if is_htmx(request):
        return page(
            request,
            "campaign_preview.html",
            campaign=edited,
            mode="edit" if edited else "create",
            editable=edited is None or edited.state in EDITABLE_STATES,
            oob=True,
            **context,
        )
    rendered = context["rendered"]
    return PreviewResult(
        lead=context["preview_lead"],
        instructions=rendered.instructions,
        greeting=rendered.greeting,
        problems=[PreviewProblem(field=k, reason=v) for k, v in context["problems"].items()],
        ok=not context["problems"],
    )


# -- create / edit --------------------------------------------------------------------------


def _name_taken(dash: DashboardState, name: str) -> bool:
    with dash.store.read() as db:
        return (
            db.execute(select(campaigns_table.c.id).where(campaigns_table.c.name == name)).first()
            is not None
        )


def _create(
    dash: DashboardState, data: CampaignInput, overrides: CampaignOverrides, user: str
) -> tuple[repo.Campaign, ImportSummary]:
    """Import the lead list as campaign ``data.name`` and store its overrides. Raises
    :class:`LeadFileError`, :class:`~voicekit_core.lead_lists.LeadListError` or
    :class:`~voicekit_core.campaigns.repo.CampaignError` (nothing stored then)."""
    from voicekit_core.campaigns.importer import import_csv
    from voicekit_core.lead_lists import get_lead_list, materialize

    config = dash.deployment.config
    lead_list = get_lead_list(dash.store, data.lead_list or "")
    with materialize(dash.store, lead_list.id) as path:
        result = import_csv(dash.store, config, name=data.name.strip(), path=path)
    source = f"lead list {lead_list.name!r} ({lead_list.filename})"
    with dash.store.write() as db:
        # the import named the list's temporary file, which means nothing to anyone (and
        # no longer exists): name the list in the campaign row and in its "created" line,
        # written a moment ago by the import
        db.execute(
            update(campaigns_table)
            .where(campaigns_table.c.id == result.campaign.id)
            .values(source=source)
        )
        db.execute(
            update(campaign_events)
            .where(
                campaign_events.c.campaign_id == result.campaign.id,
                campaign_events.c.kind == "created",
            )
            .values(detail=f"from {source} by {user} (dashboard)")
        )
        if not overrides.empty:
            set_overrides(db, result.campaign.id, overrides, config, by=f"{user} (dashboard)")
        campaign = repo.get_campaign(db, result.campaign.id)
    return campaign, import_summary(result, lead_list.name)


@router.post(
    "/api/campaigns",
    tags=TAGS,
    status_code=201,
    response_model=CreatedCampaign,
    openapi_extra=FORM_BODY,
)
async def create_campaign(request: Request, dash: Dash):
    """Create a ``draft`` campaign from a stored lead list (``lead_list``; default: the
    selected list) with the form's script and dialer overrides. Bad rows of the list are
    not imported and are summarized in ``imported``. Errors: 422 naming the fields (an
    unknown placeholder, a bad value, no such lead list), 409 for a name that is taken;
    nothing is created then."""
    values, data, errors = await _submitted(request)
    from voicekit_core.lead_lists import LeadListError

    config = dash.deployment.config
    data.name = data.name.strip()
    data.lead_list = data.lead_list or await run_in_threadpool(_default_list, dash, None)
    if not data.name:
        errors["name"] = "give the campaign a name"
    elif await run_in_threadpool(_name_taken, dash, data.name):
        errors["name"] = f"a campaign named {data.name!r} already exists"
    if not data.lead_list:
        errors["lead_list"] = "no lead list: upload one on the Leads page first"
    overrides, override_errors = await run_in_threadpool(build_overrides, config, data)
    for key, reason in override_errors.items():
        errors.setdefault(key, reason)
    created: tuple[repo.Campaign, ImportSummary] | None = None
    if not errors:
        try:
            created = await run_in_threadpool(_create, dash, data, overrides, user_of(request))
        except LeadListError as exc:
            errors["lead_list"] = str(exc)
        except LeadFileError as exc:
            errors["lead_list"] = str(exc)
        except repo.CampaignError as exc:  # the name was taken meanwhile
            errors["name"] = str(exc)
    if created is None:
        if is_htmx(request) and values is not None:
            return await run_in_threadpool(
                _form_page, request, dash, values, campaign=None, errors=errors, fragment=True
            )
        conflict = set(errors) == {"name"} and "already exists" in errors["name"]
        raise _refuse(errors, 409 if conflict else 422)
    campaign, summary = created
    progress = lead_progress(dash.store, [campaign.id]).get(campaign.id)
    body = CreatedCampaign(campaign=campaign_row(campaign, progress), imported=summary)
    if is_htmx(request):
        return page(request, "campaign_created.html", created=body, status_code=201)
    return body


@router.put(
    "/api/campaigns/{campaign_id}",
    tags=TAGS,
    response_model=CampaignDetail,
    openapi_extra=FORM_BODY,
)
async def edit_campaign(request: Request, campaign_id: str, dash: Dash):
    """Replace a draft or paused campaign's script and dialer overrides with the form's
    (a value equal to the deployment's removes its override; ``name`` and ``lead_list``
    are ignored). Calls placed from then on use them: a dialer re-reads the settings when
    the campaign starts or resumes. Errors: 409 when the campaign is running, completed or
    canceled; 422 naming the fields."""
    values, data, errors = await _submitted(request)
    campaign = await run_in_threadpool(found, dash, campaign_id)
    if campaign.state not in EDITABLE_STATES:
        raise HTTPException(
            409,
            f"campaign {campaign.name!r} is {campaign.state}; only a draft or paused campaign "
            "can be edited (pause it first)",
        )
    config = dash.deployment.config
    overrides, override_errors = await run_in_threadpool(
        build_overrides, config, data, _base_overrides(campaign)
    )
    for key, reason in override_errors.items():
        errors.setdefault(key, reason)
    if errors:
        if is_htmx(request) and values is not None:
            return await run_in_threadpool(
                _form_page, request, dash, values, campaign=campaign, errors=errors, fragment=True
            )
        raise _refuse(errors)

    def save() -> repo.Campaign:
        with dash.store.write() as db:
            current = repo.get_campaign(db, campaign.id)
            if current.state not in EDITABLE_STATES:
                raise HTTPException(409, f"campaign {current.name!r} is {current.state} now")
            return set_overrides(
                db, campaign.id, overrides, config, by=f"{user_of(request)} (dashboard)"
            )

    saved = await run_in_threadpool(save)
    if is_htmx(request):
        return Response(headers={"HX-Redirect": f"/campaigns/{saved.id}?saved=1"})
    return await run_in_threadpool(campaign_detail, dash, saved)
