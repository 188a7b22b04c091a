import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router-dom';
import { App } from './App';
import './styles.css';

const saved = localStorage.getItem('pyxie-theme'); // only the theme; never credentials
document.documentElement.dataset.theme =
  saved ?? (window.matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark');

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <BrowserRouter>
      <App />
    </BrowserRouter>
  </StrictMode>,
);
