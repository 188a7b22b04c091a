import { lazy, Suspense, useCallback, useEffect, useState } from 'react';
import { Navigate, NavLink, Route, Routes, useLocation, useNavigate } from 'react-router-dom';
import { api, ApiError, type Session } from './lib/api';
import { LoginPage } from './pages/LoginPage';
import { ClustersPage } from './pages/ClustersPage';
import { LivePage } from './pages/LivePage';
import { AdminPage } from './pages/AdminPage';
import { UsersPage } from './pages/UsersPage';
import { OrgPage } from './pages/OrgPage';
import { AuditPage } from './pages/AuditPage';
import { PluginsPage } from './pages/PluginsPage';
import { SignupPage } from './pages/SignupPage';

// Monaco is large: the editor page loads it on demand.
const EditorPage = lazy(() => import('./pages/EditorPage'));

type SessionState = { state: 'loading' } | { state: 'out' } | { state: 'in'; session: Session };

export function App() {
  const [session, setSession] = useState<SessionState>({ state: 'loading' });
  const location = useLocation();
  const navigate = useNavigate();

  const refresh = useCallback(async () => {
    try {
      setSession({ state: 'in', session: await api.session() });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) setSession({ state: 'out' });
      else setSession({ state: 'out' });
    }
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  if (session.state === 'loading') return <div className="center muted">Loading…</div>;
  if (location.pathname === '/signup' && session.state === 'out') {
    const token = new URLSearchParams(location.search).get('invite_token') ?? '';
    return (
      <SignupPage
        token={token}
        onJoined={async () => {
          await refresh();
          navigate('/clusters', { replace: true });
        }}
      />
    );
  }
  if (location.pathname === '/login' || session.state === 'out') {
    if (session.state === 'in') {
      const next = new URLSearchParams(location.search).get('next') || '/clusters';
      return <Navigate to={next.startsWith('/') ? next : '/clusters'} replace />;
    }
    if (location.pathname !== '/login') {
      const next = encodeURIComponent(location.pathname + location.search);
      return <Navigate to={`/login?next=${next}`} replace />;
    }
    return <LoginPage onLogin={refresh} />;
  }

  const logout = async () => {
    try {
      await api.logout();
    } finally {
      setSession({ state: 'out' });
      navigate('/login', { replace: true });
    }
  };
  const toggleTheme = () => {
    const next = document.documentElement.dataset.theme === 'light' ? 'dark' : 'light';
    document.documentElement.dataset.theme = next;
    localStorage.setItem('pyxie-theme', next);
  };

  return (
    <div className="shell">
      <header className="topbar">
        <span className="brand">Pyxie</span>
        <nav aria-label="Main">
          <NavLink to="/clusters">Clusters</NavLink>
          <NavLink to="/live">Live</NavLink>
          <NavLink to="/editor">Editor</NavLink>
          <NavLink to="/admin">Keys</NavLink>
          <NavLink to="/users">Users</NavLink>
          <NavLink to="/org">Org</NavLink>
          <NavLink to="/plugins">Plugins</NavLink>
          {session.session.admin && <NavLink to="/audit">Audit</NavLink>}
        </nav>
        <span className="spacer" />
        <button className="ghost" onClick={toggleTheme} aria-label="Toggle theme">
          ◐
        </button>
        <button className="ghost" onClick={() => void logout()}>
          Log out
        </button>
      </header>
      <main>
        <Suspense fallback={<div className="center muted">Loading…</div>}>
          <Routes>
            <Route path="/clusters" element={<ClustersPage />} />
            <Route path="/live" element={<LivePage />} />
            <Route path="/editor" element={<EditorPage />} />
            <Route path="/admin" element={<AdminPage />} />
            <Route path="/users" element={<UsersPage admin={session.session.admin} me={session.session.userID} />} />
            <Route path="/org" element={<OrgPage admin={session.session.admin} />} />
            <Route path="/audit" element={<AuditPage />} />
            <Route path="/plugins" element={<PluginsPage admin={session.session.admin} />} />
            <Route path="*" element={<Navigate to="/clusters" replace />} />
          </Routes>
        </Suspense>
      </main>
    </div>
  );
}
