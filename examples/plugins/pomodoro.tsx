// Pomodoro log: a single-file TypeScript + JSX widget plugin (docs/modules.md).
//
// A .tsx file is an ES module: sucrase strips the types and compiles the JSX to
// __airlock_jsx calls onto the ui builders, keeping every line where it was, so an error
// names the line in this file. The definition is the default export. Only generic
// reducers are used (state/merge), so it needs no manifest and no grants.
// State: Log below. Each task counts the pomodoros (focus blocks of `minutes`) spent on it.
//
//   build/airlock run examples/plugins/pomodoro.tsx \
//     --event 'log:edit:{"value":"write report"}' --event log:add --event 'log:tick:1'

interface Task {
  id: number;
  name: string;
  pomodoros: number;
  done: boolean;
}

interface Log {
  draft: string;
  minutes: number;
  tasks: Task[];
  nextId: number;
}

type Ctx = { pluginState: Log; dispatchPluginAction(type: string, payload?: unknown): void };

const LENGTHS: readonly number[] = [15, 25, 50];

const tasksOf = (s: Partial<Log> | undefined): Task[] => (Array.isArray(s?.tasks) ? s!.tasks : []);
const focusOf = (t: Task, minutes: number): string => t.pomodoros * minutes + " min";

function TaskRow({ task, minutes }: { task: Task; minutes: number }) {
  return (
    <row>
      <text>{task.done ? "[x] " : "[ ] "}{task.name}</text>
      <badge>{task.pomodoros} x {minutes} min</badge>
      <button label="+1 pomodoro" onClick={{ handler: "tick", args: task.id }} />
      <button label={task.done ? "Reopen" : "Done"} variant="secondary" onClick={{ handler: "toggle", args: task.id }} />
    </row>
  );
}

function LengthPicker({ minutes }: { minutes: number }) {
  return (
    <row>
      <text>Pomodoro length:</text>
      {LENGTHS.map((m) => (
        <button label={m + " min"} variant={m === minutes ? "default" : "outline"} onClick={{ handler: "length", args: m }} />
      ))}
    </row>
  );
}

export default {
  id: "pomodoro",
  title: "Pomodoro log",
  description: "TypeScript + JSX (.tsx): tasks, pomodoros spent on each, a summary table",
  initialState: { draft: "", minutes: 25, tasks: [], nextId: 1 } satisfies Log,
  widgets: {
    log: {
      render({ pluginState }: { pluginState: Log }) {
        const tasks: Task[] = tasksOf(pluginState);
        const minutes: number = Number(pluginState?.minutes ?? 25);
        const total: number = tasks.reduce((n, t) => n + t.pomodoros, 0);
        return (
          <panel>
            <LengthPicker minutes={minutes} />
            <row>
              <input value={pluginState?.draft ?? ""} placeholder="What are you focusing on?" onChange={{ handler: "edit" }} />
              <button label="Add task" onClick={{ handler: "add" }} />
            </row>
            <column>
              {tasks.length === 0 && <text>No tasks yet</text>}
              {tasks.map((t) => <TaskRow task={t} minutes={minutes} />)}
            </column>
            <badge>{total} pomodoros, {total * minutes} min focused</badge>
            <table headers={["#", "Task", "Pomodoros", "Focus"]}
                   rows={tasks.map((t) => [String(t.id), t.name, String(t.pomodoros), focusOf(t, minutes)])} />
          </panel>
        );
      },
      handlers: {
        edit({ dispatchPluginAction }: Ctx, args?: { value?: string }) {
          dispatchPluginAction("state/merge", { draft: String(args?.value ?? "") });
        },
        add({ pluginState, dispatchPluginAction }: Ctx) {
          const name: string = String(pluginState?.draft ?? "").trim();
          if (!name) return; // nothing dispatched: the event applies no action
          const id: number = Number(pluginState?.nextId ?? 1);
          const task: Task = { id, name, pomodoros: 0, done: false };
          dispatchPluginAction("state/merge", { draft: "", tasks: [...tasksOf(pluginState), task], nextId: id + 1 });
        },
        tick({ pluginState, dispatchPluginAction }: Ctx, id: number) {
          const tasks = tasksOf(pluginState).map((t): Task => (t.id === id ? { ...t, pomodoros: t.pomodoros + 1 } : t));
          dispatchPluginAction("state/merge", { tasks });
        },
        toggle({ pluginState, dispatchPluginAction }: Ctx, id: number) {
          const tasks = tasksOf(pluginState).map((t): Task => (t.id === id ? { ...t, done: !t.done } : t));
          dispatchPluginAction("state/merge", { tasks });
        },
        length({ dispatchPluginAction }: Ctx, m: number) {
          if (!LENGTHS.includes(Number(m))) return;
          dispatchPluginAction("state/merge", { minutes: Number(m) });
        },
      },
    },
  },
};
