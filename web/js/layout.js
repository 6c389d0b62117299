// layout.js: the resizable panes (examples | editor | preview over the devtools).
//
// Three splitters (role "separator", focusable) set three CSS variables on <body>:
// --catalog-w, --preview-w (column widths) and --devtools-h (the devtools' height); the
// stylesheet's grid does the rest. A splitter is dragged with the pointer or moved with
// the arrow keys (Shift: bigger steps), Home resets it. Sizes are clamped so the editor
// column and the preview row keep room at any window size (down to 800x600), and are
// remembered across refreshes in the page's view state (saver.js ViewState).

const MIN = { catalog: 120, preview: 220, devtools: 90 };
const EDITOR_MIN = 260;   // px the editor column keeps
const MAIN_MIN = 200;     // px the row above the devtools keeps

const PANE = { catalog: ".catalog", preview: ".preview", devtools: ".devtools" };

/** A pane's size now, as drawn (the variables may be in vw or unset). */
function measure(which) {
  const r = document.querySelector(PANE[which])?.getBoundingClientRect();
  return r ? (which === "devtools" ? r.height : r.width) : 0;
}

/** Clamps a size for `which` to what the window allows now. */
function clamp(which, px) {
  const w = window.innerWidth, hgt = window.innerHeight;
  const cat = measure("catalog"), pre = measure("preview");
  let max;
  if (which === "catalog") max = Math.min(420, w - pre - EDITOR_MIN - 12);
  else if (which === "preview") max = w - cat - EDITOR_MIN - 12;
  else max = hgt - 40 - MAIN_MIN;
  return Math.round(Math.max(MIN[which], Math.min(px, Math.max(MIN[which], max))));
}

const VAR = { catalog: "--catalog-w", preview: "--preview-w", devtools: "--devtools-h" };

export class Layout {
  constructor(view) {
    this.view = view;
    for (const which of Object.keys(VAR)) {
      const saved = view.get("size-" + which, null);
      if (typeof saved === "number") this.set(which, saved, false);
    }
    for (const sp of document.querySelectorAll("[data-split]")) this.wire(sp);
    // A smaller window may leave a remembered size too big: clamp again, keeping it.
    window.addEventListener("resize", () => { for (const which of Object.keys(VAR)) this.refit(which); });
  }

  current(which) { return measure(which); }

  set(which, px, remember = true) {
    const v = clamp(which, px);
    document.body.style.setProperty(VAR[which], v + "px");
    const sp = document.querySelector("[data-split=" + which + "]");
    if (sp) sp.setAttribute("aria-valuenow", String(v));
    if (remember) this.view.set("size-" + which, v);
  }

  refit(which) {
    if (document.body.style.getPropertyValue(VAR[which])) this.set(which, this.current(which), false);
  }

  wire(sp) {
    const which = sp.dataset.split;
    sp.setAttribute("aria-valuemin", String(MIN[which]));
    sp.addEventListener("pointerdown", (ev) => {
      ev.preventDefault();
      sp.setPointerCapture(ev.pointerId);
      sp.classList.add("is-dragging");
      const start = { x: ev.clientX, y: ev.clientY, size: this.current(which) };
      const move = (e) => {
        if (which === "catalog") this.set(which, start.size + (e.clientX - start.x));
        else if (which === "preview") this.set(which, start.size - (e.clientX - start.x));
        else this.set(which, start.size - (e.clientY - start.y));
      };
      const up = () => {
        sp.classList.remove("is-dragging");
        sp.removeEventListener("pointermove", move);
        sp.removeEventListener("pointerup", up);
        sp.removeEventListener("pointercancel", up);
      };
      sp.addEventListener("pointermove", move);
      sp.addEventListener("pointerup", up);
      sp.addEventListener("pointercancel", up);
    });
    sp.addEventListener("keydown", (ev) => {
      const step = ev.shiftKey ? 64 : 16;
      // The arrow points where the splitter moves; for preview and devtools that grows
      // the pane on the other side.
      const grow = { catalog: { ArrowRight: 1, ArrowLeft: -1 }, preview: { ArrowLeft: 1, ArrowRight: -1 },
        devtools: { ArrowUp: 1, ArrowDown: -1 } }[which][ev.key];
      if (ev.key === "Home") {
        ev.preventDefault();
        document.body.style.removeProperty(VAR[which]);
        this.view.set("size-" + which, null);
      } else if (grow) {
        ev.preventDefault();
        this.set(which, this.current(which) + grow * step);
      }
    });
  }
}
