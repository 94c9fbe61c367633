// One row of the Users section, drawn in the browser: one element on the server instead of thirteen.
// Text is interpolated, never parsed as HTML. A row of the list's table (role=row, each part a cell); its buttons
// show on hover and focus, and always on a phone or a touch screen (CSS in user_list.py).
export default {
  template: `
    <div class="user-row w-full" :class="{ 'user-muted': !on }" tabindex="0" role="row" :aria-label="name">
      <div class="cell-name ellipsis" role="cell">{{ name }}</div>
      <div class="cell-email ellipsis" role="cell">{{ email }}</div>
      <div class="cell-role" role="cell">{{ role }}</div>
      <span class="cell-enabled own-guard" role="cell">
        <q-toggle :model-value="on" @update:model-value="toggle" aria-label="Is enabled?" :disable="own" />
        <q-tooltip v-if="own">You cannot disable yourself</q-tooltip>
      </span>
      <div v-if="pending" class="cell-seen user-pending" role="cell">
        <div>Invitation pending</div><div class="text-caption">{{ pending }}</div>
      </div>
      <div v-else class="cell-seen text-grey-8" role="cell">{{ seen }}</div>
      <div class="row-actions row no-wrap justify-end" role="cell">
        <q-btn flat round dense color="primary" icon="edit" aria-label="Edit user" @click="$emit('edit')">
          <q-tooltip>Edit user</q-tooltip>
        </q-btn>
        <q-btn flat round dense color="primary" icon="lock" aria-label="Resend password email" @click="$emit('resend')">
          <q-tooltip>Resend password email</q-tooltip>
        </q-btn>
        <span class="own-guard">
          <q-btn flat round dense color="primary" icon="delete" aria-label="Delete user" :disable="own"
                 @click="$emit('delete')" />
          <q-tooltip>{{ own ? "You cannot delete yourself" : "Delete user" }}</q-tooltip>
        </span>
      </div>
    </div>
  `,
  props: {
    name: String,
    email: String,
    role: String,
    enabled: Boolean,
    seen: String,
    own: Boolean, // the admin's own row: "Is enabled?" and "Delete user" are disabled, and say why
    pending: String, // a user who never set a password: when the invitation's link expires ('' otherwise)
  },
  data() {
    return { on: this.enabled };
  },
  methods: {
    toggle(value) {
      this.on = value;
      this.$emit("toggle", value);
    },
    show_enabled(value) {
      this.on = value; // the server's answer: the change took, or was refused and the switch goes back
    },
  },
};
