// One row of the Users section, drawn in the browser: one element on the server instead of thirteen.
// Text is interpolated, never parsed as HTML. A row of the list's table (role=row, each part a cell); its buttons
// show on hover and focus, and always on a phone or a touch screen (CSS in user_list.py).
// Light to mount: a row holds no Vue component of its own until it is hovered or focused. Its switch is Quasar's
// q-toggle as the browser receives it (its DOM and classes, role=switch, Enter and Space), without the component;
// its buttons are plain <button>s of two DOM elements, looking like Quasar's flat round dense q-btn (CSS
// `.row-button` in user_list.py): a q-btn with its icon is two components and four elements, so 25 rows of three of
// them were 150 and 300. Their tooltips exist only once the row was hovered or focused: a tooltip shows on hover,
// which comes after the row's mouseenter.

export default {
  template: `
    <div class="user-row w-full" :class="{ 'user-muted': !on }" tabindex="0" role="row" :aria-label="name"
         @mouseenter="tips = true" @focusin="tips = true">
      <div class="cell-name ellipsis" role="cell">{{ name }}</div>
      <div class="cell-email ellipsis" role="cell">{{ email }}</div>
      <div class="cell-role" role="cell">{{ role }}</div>
      <span class="cell-enabled own-guard" role="cell">
        <div class="q-toggle cursor-pointer no-outline row inline no-wrap items-center" :class="{ disabled: own }"
             role="switch" aria-label="Is enabled?" :aria-checked="on ? 'true' : 'false'" :tabindex="own ? -1 : 0"
             :aria-disabled="own ? 'true' : null" @click="flip" @keydown="key" @keyup="key">
          <div class="q-toggle__inner relative-position non-selectable" aria-hidden="true"
               :class="on ? 'q-toggle__inner--truthy' : 'q-toggle__inner--falsy'">
            <div class="q-toggle__track"></div>
            <div class="q-toggle__thumb absolute flex flex-center no-wrap"></div>
          </div>
        </div>
        <q-tooltip v-if="own && tips">You cannot disable yourself</q-tooltip>
      </span>
      <div v-if="pending" class="cell-seen user-pending" role="cell">
        <div>Invitation pending</div><div class="text-caption">{{ pending }}</div>
      </div>
      <div v-else class="cell-seen text-grey-8" role="cell">{{ seen }}</div>
      <div class="row-actions row no-wrap justify-end" role="cell">
        <button type="button" class="row-button" aria-label="Edit user" @click="$emit('edit')">
          <i class="material-icons notranslate" aria-hidden="true">edit</i>
          <q-tooltip v-if="tips">Edit user</q-tooltip>
        </button>
        <button type="button" class="row-button" aria-label="Resend password email" @click="$emit('resend')">
          <i class="material-icons notranslate" aria-hidden="true">lock</i>
          <q-tooltip v-if="tips">Resend password email</q-tooltip>
        </button>
        <span class="own-guard">
          <button type="button" class="row-button" aria-label="Delete user" :disabled="own" @click="$emit('delete')">
            <i class="material-icons notranslate" aria-hidden="true">delete</i>
          </button>
          <q-tooltip v-if="tips">{{ own ? "You cannot delete yourself" : "Delete user" }}</q-tooltip>
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
    return { on: this.enabled, tips: false };
  },
  watch: {
    enabled(value) {
      this.on = value; // the row was updated in place from the server (another admin's change)
    },
  },
  methods: {
    flip() {
      if (this.own) return;
      this.on = !this.on;
      this.$emit("toggle", this.on);
    },
    key(event) {
      // As Quasar's q-toggle: Enter or Space flips it when released, and neither scrolls nor submits meanwhile.
      if (event.key !== "Enter" && event.key !== " ") return;
      event.preventDefault();
      if (event.type === "keyup") this.flip();
    },
    show_enabled(value) {
      this.on = value; // the server's answer: the change took, or was refused and the switch goes back
    },
  },
};
