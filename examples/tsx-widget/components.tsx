// components.tsx: a function component. JSX here compiles to __airlock_jsx calls, which
// build ui nodes; a component is a function of its props (with `children`).
export interface StatProps {
  label: string;
  value: number;
}

export function Stat({ label, value }: StatProps) {
  return (
    <row>
      <text>{label}</text>
      <badge>{String(value)}</badge>
    </row>
  );
}
