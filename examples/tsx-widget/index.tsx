// index.tsx: an ES module widget plugin in TypeScript + JSX (docs/modules.md).
// `./components.js` resolves to components.tsx, as TypeScript resolves it.
import { Stat } from "./components.js";

type State = { count: number };

export default {
  title: "TSX counter",
  initialState: { count: 0 } satisfies State,
  widgets: {
    main: {
      render({ pluginState }: { pluginState: State }) {
        const n: number = pluginState.count;
        return (
          <panel>
            <Stat label="Count" value={n} />
            {n > 2 && <text>That is a lot</text>}
            <button label="Add one" onClick={{ handler: "inc" }} />
          </panel>
        );
      },
      handlers: {
        inc({ pluginState, dispatchPluginAction }: any) {
          dispatchPluginAction("state/merge", { count: (pluginState as State).count + 1 });
        },
      },
    },
  },
};
