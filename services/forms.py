"""Forms as values: what a dialog sends to a service, frozen, with `clean()` giving it back normalized or raising
ValidationFailed with a message per field."""

from dataclasses import dataclass, field, fields, replace

from db.models import Role, User
from services.errors import ValidationFailed
from services.validation import clean_email, clean_name

ROLE_CHOICES = {Role.MEMBER.value: 'Member', Role.ADMIN.value: 'Admin'}


@dataclass(frozen=True)
class UserForm:
    """What "+ Add user" and "Edit user" send. Each field's metadata tells the dialog how to show it; a new field
    is a model field, a migration, a field here and a line of the row, and nothing else."""

    name: str = field(default='', metadata={'label': 'Name'})
    email: str = field(default='', metadata={'label': 'Email', 'type': 'email'})
    role: str = field(default=Role.MEMBER.value, metadata={'label': 'Role', 'choices': ROLE_CHOICES})

    @classmethod
    def of(cls, user: User) -> 'UserForm':
        return cls(**{item.name: str(getattr(user, item.name)) for item in fields(cls)})

    def clean(self) -> 'UserForm':
        """The form with its values normalized (the email lower-cased), or ValidationFailed naming each field."""
        errors: dict[str, str] = {}
        name = clean_name(self.name, errors, 'name')
        email = clean_email(self.email, errors, 'email')
        role = (self.role or '').lower()
        if role not in ROLE_CHOICES:
            errors['role'] = 'Choose Admin or Member.'
        if errors:
            raise ValidationFailed(errors)
        return replace(self, name=name, email=email, role=role)
