import type { FormEvent } from 'react';
import { useState } from 'react';
import { api, errorText } from '../lib/api';

// Where an invite link leads: the invited person picks a password and joins the org.
export function SignupPage({ token, onJoined }: { token: string; onJoined: () => Promise<void> }) {
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.signup({ email, name, password, inviteToken: token });
      await onJoined();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="login">
      <form className="card login-card" onSubmit={(e) => void submit(e)} aria-label="Join">
        <h1>Join your team on Pyxie</h1>
        {!token && (
          <div className="error-box" role="alert">
            This page needs the invite link you were sent.
          </div>
        )}
        <label>
          Email
          <input
            type="email"
            autoComplete="username"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            required
          />
        </label>
        <label>
          Name
          <input autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Password
          <input
            type="password"
            autoComplete="new-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
          />
        </label>
        {error && (
          <div className="error-box" role="alert">
            {error}. Ask an admin of the org for a new invite if this one was used or expired.
          </div>
        )}
        <button type="submit" className="primary" disabled={busy || !token}>
          {busy ? 'Joining…' : 'Join'}
        </button>
      </form>
    </div>
  );
}
