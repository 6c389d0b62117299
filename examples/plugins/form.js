// Sign-up form: fields, validation messages and plugin-declared reducers.
//
// `reducers` is an Airlock extension. A plugin-scope action that no package reducer
// handles goes to the plugin's own reducer of the same name, run inside this VM under the
// event's deadline: (state, payload) => next state. Actions it does not name fall through
// to the generic `state/replace` / `state/merge`.
//
// Also shows both ui.counter forms: positional (value, props) and object ({value, ...}).
//
//   build/airlock run examples/plugins/form.js \
//     --event 'form:name:{"value":"Ada"}' --event 'form:email:{"value":"ada@example.com"}' \
//     --event form:submit
definePlugin(({ ui }) => {
  const EMPTY = { name: "", email: "", tickets: 1, guests: 0, errors: {}, submitted: null, submissions: 0 };
  const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
  const clamp = (n, lo, hi) => Math.min(hi, Math.max(lo, n));
  const base = (state) => (state !== null && typeof state === "object" && !Array.isArray(state)
    ? { ...EMPTY, ...state } : { ...EMPTY });

  function validate(s) {
    const errors = {};
    if (!String(s.name).trim()) errors.name = "Name is required";
    const email = String(s.email).trim();
    if (!email) errors.email = "Email is required";
    else if (!EMAIL.test(email)) errors.email = "Email must look like name@example.com";
    return errors;
  }

  const field = (label, key, s) => ui.column([
    ui.text(label),
    ui.input({ value: String(s[key] ?? ""), placeholder: label, onChange: { handler: key } }),
    ...(s.errors?.[key] ? [ui.badge(s.errors[key])] : []),
  ]);

  return {
    id: "form",
    title: "Sign-up Form",
    description: "Validated form with plugin-declared reducers",
    initialState: EMPTY,
    reducers: {
      // payload: {field, value}; editing a field clears its error.
      "form/field"(state, payload) {
        const s = base(state);
        const key = String(payload?.field ?? "");
        if (key !== "name" && key !== "email") return s;
        const errors = { ...s.errors };
        delete errors[key];
        return { ...s, [key]: String(payload?.value ?? ""), errors };
      },
      // payload: {field, delta}; counters stay within their bounds.
      "form/adjust"(state, payload) {
        const s = base(state);
        const delta = Number(payload?.delta ?? 0);
        if (payload?.field === "tickets") return { ...s, tickets: clamp(s.tickets + delta, 1, 10) };
        if (payload?.field === "guests") return { ...s, guests: clamp(s.guests + delta, 0, 5) };
        return s;
      },
      // No payload: validates the current state and either records errors or a submission.
      "form/submit"(state) {
        const s = base(state);
        const errors = validate(s);
        if (Object.keys(errors).length) return { ...s, errors };
        return {
          ...s,
          errors: {},
          submitted: { name: s.name.trim(), email: s.email.trim(), tickets: s.tickets, guests: s.guests },
          submissions: s.submissions + 1,
        };
      },
      "form/reset"() { return { ...EMPTY }; },
    },
    widgets: {
      form: {
        render({ pluginState }) {
          const s = base(pluginState);
          const done = s.submitted;
          return ui.panel([
            ui.text("Sign up"),
            field("Name", "name", s),
            field("Email", "email", s),
            ui.row([ui.text("Tickets"),
                    ui.counter(s.tickets, { onIncrement: { handler: "adjust", args: { field: "tickets", delta: 1 } },
                                            onDecrement: { handler: "adjust", args: { field: "tickets", delta: -1 } } })]),
            ui.row([ui.text("Guests"),
                    ui.counter({ value: s.guests,
                                 onIncrement: { handler: "adjust", args: { field: "guests", delta: 1 } },
                                 onDecrement: { handler: "adjust", args: { field: "guests", delta: -1 } } })]),
            ui.row([
              ui.button("Submit", { onClick: { handler: "submit" }, variant: "default" }),
              ui.button("Reset", { onClick: { handler: "reset" }, variant: "ghost" }),
            ]),
            done
              ? ui.badge("Submitted " + s.submissions + (s.submissions === 1 ? " time" : " times") + ": " + done.name + " <" + done.email + ">")
              : ui.badge("Not submitted"),
          ]);
        },
        handlers: {
          name({ dispatchPluginAction }, args) {
            dispatchPluginAction("form/field", { field: "name", value: String(args?.value ?? "") });
          },
          email({ dispatchPluginAction }, args) {
            dispatchPluginAction("form/field", { field: "email", value: String(args?.value ?? "") });
          },
          adjust({ dispatchPluginAction }, args) {
            dispatchPluginAction("form/adjust", { field: args?.field, delta: Number(args?.delta ?? 0) });
          },
          submit({ dispatchPluginAction }) { dispatchPluginAction("form/submit"); },
          reset({ dispatchPluginAction }) { dispatchPluginAction("form/reset"); },
        },
      },
    },
  };
});
