"""Plan templates: the built-ins (storage/templates/builtin.py), a template's body
(body.py), the operations on a workspace's templates (operations.py) and templates in
plan files (files.py). `from storage.templates import X` reaches the public API of all."""

from storage.templates.body import body_of_plan, check_body, counts
from storage.templates.builtin import BUILTIN, GOALS, KEY_ACCOUNT
from storage.templates.files import TEMPLATE_KEYS, export_templates, import_templates
from storage.templates.operations import (
    SAVED_PREFIX,
    TemplateChoice,
    add_template,
    create_plan_from_template,
    delete_template,
    get_template,
    list_templates,
    may_manage,
    rename_template,
    save_as_template,
    template_body,
    template_key,
    template_names,
)

__all__ = [
    "BUILTIN",
    "GOALS",
    "KEY_ACCOUNT",
    "SAVED_PREFIX",
    "TEMPLATE_KEYS",
    "TemplateChoice",
    "add_template",
    "body_of_plan",
    "check_body",
    "counts",
    "create_plan_from_template",
    "delete_template",
    "export_templates",
    "get_template",
    "import_templates",
    "list_templates",
    "may_manage",
    "rename_template",
    "save_as_template",
    "template_body",
    "template_key",
    "template_names",
]
