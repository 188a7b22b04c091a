import { useEffect, useMemo, useRef, useState } from 'react';
import type { Script } from '../lib/api';
import { useShortcut } from '../lib/hooks';

// A searchable list of scripts; ctrl/cmd+k opens it.
export function ScriptPicker({
  scripts,
  value,
  onPick,
}: {
  scripts: Script[];
  value: string;
  onPick: (name: string) => void;
}) {
  const [open, setOpen] = useState(false);
  const [search, setSearch] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useShortcut('k', () => setOpen(true));
  useEffect(() => {
    if (open) input.current?.focus();
  }, [open]);
  const matches = useMemo(() => {
    const needle = search.toLowerCase();
    return scripts.filter((s) => s.name.toLowerCase().includes(needle) || s.short.toLowerCase().includes(needle));
  }, [scripts, search]);
  const pick = (name: string) => {
    onPick(name);
    setOpen(false);
    setSearch('');
  };
  return (
    <div className="picker">
      <button className="secondary" onClick={() => setOpen((o) => !o)} aria-haspopup="listbox" aria-label="Script">
        {value || 'Pick a script'} <span className="muted kbd">Ctrl K</span>
      </button>
      {open && (
        <div className="picker-pop card" role="dialog" aria-label="Search scripts">
          <input
            ref={input}
            type="search"
            placeholder="Search scripts…"
            aria-label="Search scripts"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && matches[0]) pick(matches[0].name);
              if (e.key === 'Escape') setOpen(false);
            }}
          />
          <ul role="listbox" aria-label="Scripts">
            {matches.map((s) => (
              <li key={s.name} role="option" aria-selected={s.name === value} onClick={() => pick(s.name)}>
                <strong>{s.name}</strong>
                <span className="muted"> {s.short}</span>
              </li>
            ))}
            {matches.length === 0 && <li className="muted">No script matches.</li>}
          </ul>
        </div>
      )}
    </div>
  );
}
