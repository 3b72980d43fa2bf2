"""Forms of the S3 pages. A bucket name is explained rule by rule, as the S3 console words it,
before S3's own check (services/names.py) decides."""
from __future__ import annotations

import ipaddress
import re

from django import forms

from ..services.names import MAX_KEY_BYTES

BUCKET_NAME_HELP = ("Bucket names must be 3 to 63 characters and unique within the global namespace. Bucket names "
                    "must also begin and end with a letter or number. Valid characters are a-z, 0-9, periods (.), "
                    "and hyphens (-).")
FOLDER_NAME_HELP = "Folder names can't contain \"/\"."
RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name_problems(name: str) -> list[str]:
    """Each naming rule `name` breaks, in the S3 console's words ("General purpose bucket naming rules")."""
    problems = []
    if not 3 <= len(name) <= 63:
        problems.append("Bucket name must be at least 3 and no more than 63 characters long.")
    if any(c.isupper() for c in name):
        problems.append("Bucket name must not contain uppercase characters.")
    if re.search(r"[^a-zA-Z0-9.-]", name):
        problems.append("Bucket name can contain only lowercase letters, numbers, periods (.), and hyphens (-).")
    if name and not (name[0].isalnum() and name[-1].isalnum()):
        problems.append("Bucket name must start and end with a letter or number.")
    if ".." in name:
        problems.append("Bucket name must not contain two adjacent periods.")
    try:
        ipaddress.IPv4Address(name)
        problems.append("Bucket name must not be formatted as an IP address (for example, 192.168.5.4).")
    except ValueError:
        pass
    for prefix in RESERVED_PREFIXES:
        if name.startswith(prefix):
            problems.append(f"Bucket name must not start with the prefix \"{prefix}\".")
    for suffix in RESERVED_SUFFIXES:
        if name.endswith(suffix):
            problems.append(f"Bucket name must not end with the suffix \"{suffix}\".")
    return problems


class BucketCreateForm(forms.Form):
    name = forms.CharField(label="Bucket name", strip=False, max_length=255,
                           widget=forms.TextInput(attrs={"placeholder": "myawsbucket", "autocomplete": "off",
                                                         "spellcheck": "false"}))

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        problems = bucket_name_problems(name)
        if problems:
            raise forms.ValidationError(problems)
        return name


class BucketDeleteForm(forms.Form):
    confirm = forms.CharField(label="Bucket name", required=False, strip=True)

    def __init__(self, *args, bucket_name: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.bucket_name = bucket_name

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"]
        if value != self.bucket_name:
            raise forms.ValidationError("To confirm deletion, enter the name of the bucket in the text input field.")
        return value


class FolderCreateForm(forms.Form):
    name = forms.CharField(label="Folder name", strip=False, max_length=MAX_KEY_BYTES,
                           widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if "/" in name.rstrip("/"):  # "photos/" is fine: the console adds the delimiter anyway
            raise forms.ValidationError(FOLDER_NAME_HELP)
        if not name.strip("/").strip():
            raise forms.ValidationError("Enter a folder name.")
        return name.rstrip("/")


class ObjectsDeleteForm(forms.Form):
    """The keys (and folders, ending in "/") chosen in the browser, confirmed by typing as in the console."""

    confirm = forms.CharField(required=False)

    def __init__(self, data=None, **kwargs) -> None:
        super().__init__(data, **kwargs)
        self.keys = [k for k in data.getlist("key") if k] if data is not None else []

    def clean(self) -> dict:
        data = super().clean()
        if not self.keys:
            raise forms.ValidationError("Choose at least one object to delete.")
        if data.get("confirm", "").strip() != "permanently delete":
            raise forms.ValidationError("To confirm deletion, type permanently delete in the text input field.")
        return data
